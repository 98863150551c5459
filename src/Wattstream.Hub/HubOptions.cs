using System.ComponentModel.DataAnnotations;

namespace Wattstream.Hub;

public sealed class HubOptions
{
    public const string SectionName = "Hub";

    /// <summary>How many recent events the replay ring keeps for resuming subscribers (rounded up to a power of two).</summary>
    [Range(16, 1 << 24)]
    public int ReplayCapacity { get; set; } = 16_384;

    /// <summary>Default bound of a subscriber's queue; past it the oldest event is dropped.</summary>
    [Range(1, 1 << 20)]
    public int SubscriberQueueCapacity { get; set; } = 1_024;

    /// <summary>How many recent timestamps per DER are remembered to drop duplicates.</summary>
    [Range(1, 1 << 20)]
    public int DedupWindow { get; set; } = 4_096;
}
