using System.ComponentModel.DataAnnotations;

namespace Wattstream.Hub.Status;

public sealed class StatusOptions
{
    public const string SectionName = "Status";

    /// <summary>A DER silent this long is STALE (the devices send no heartbeats, so silence is the only sign).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often silent DERs are looked for.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);
}
