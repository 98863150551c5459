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

    /// <summary>
    /// How many recent timestamps per DER are remembered to drop duplicates that arrive out of order (a reading newer
    /// than the DER's newest is never a duplicate; one older than the window is caught by history's primary key).
    /// </summary>
    [Range(1, 4096)]
    public int DedupWindow { get; set; } = 32;

    /// <summary>DERs the hub keeps track of in all; a reading of a new DER past it is refused. Existing DERs keep working.</summary>
    [Range(1, 10_000_000)]
    public int MaxDers { get; set; } = 100_000;

    /// <summary>DERs one organisation may have.</summary>
    [Range(1, 10_000_000)]
    public int MaxDersPerOrg { get; set; } = 20_000;

    /// <summary>Sites one organisation may have.</summary>
    [Range(1, 10_000_000)]
    public int MaxSitesPerOrg { get; set; } = 10_000;
}
