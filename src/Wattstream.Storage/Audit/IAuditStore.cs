namespace Wattstream.Storage.Audit;

/// <summary>
/// Where the audit log is kept: the history database (SQLite or PostgreSQL) beside alerts, or memory when history is
/// off. Entries are bounded per org (<see cref="TrimAsync"/>) and by age.
/// </summary>
public interface IAuditStore
{
    /// <summary>Creates the audit table when it is missing.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores an entry (its <see cref="AuditEntry.Id"/> is assigned by the store).</summary>
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>The entries <paramref name="query"/> selects, newest first, and how many there are in all.</summary>
    Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>Deletes entries older than <paramref name="timestamp"/> (epoch ms); returns how many.</summary>
    Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default);

    /// <summary>Deletes the oldest entries of each org (the hub-wide ones, without an org, count as one more) beyond its newest <paramref name="keepPerOrg"/>.</summary>
    Task<long> TrimAsync(int keepPerOrg, CancellationToken cancellationToken = default);
}

/// <summary>
/// One change: when (epoch ms), who (the credential's subject and issuer), in which org (null: hub-wide, such as a
/// rule for every org or a key of every org), what was done (<c>created</c>, <c>changed</c>, <c>deleted</c>,
/// <c>revoked</c>) to what (<see cref="Kind"/> and id), and <see cref="Details"/> as JSON, never holding a secret.
/// </summary>
public sealed record AuditEntry(long Id, long Timestamp, string Subject, string? Issuer, string? Org, string Action, string Kind, string Target, string? Details);

/// <summary>Which entries to read: <see cref="Orgs"/> is the caller's grant (null: every entry, the hub-wide ones too).</summary>
public sealed record AuditQuery(IReadOnlyCollection<string>? Orgs, int Offset, int Limit);

public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long Total);
