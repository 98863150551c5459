using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Audit;

/// <summary>The <c>Audit</c> section: how long the audit log keeps what it records.</summary>
public sealed class AuditOptions
{
    public const string SectionName = "Audit";

    /// <summary>Entries older than this are deleted.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Entries kept per org (the hub-wide ones count as one more org); past it the oldest are deleted.</summary>
    [Range(1, 10_000_000)]
    public int MaxEntriesPerOrg { get; set; } = 10_000;

    /// <summary>How often <see cref="Retention"/> and <see cref="MaxEntriesPerOrg"/> are enforced.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(1);
}
