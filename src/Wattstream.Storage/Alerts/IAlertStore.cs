namespace Wattstream.Storage.Alerts;

/// <summary>
/// Where alert rules made through the API and raised alerts are kept: the same database as history (SQLite or
/// PostgreSQL), or memory when history is off. The store knows columns and opaque JSON bodies, not alert semantics.
/// </summary>
public interface IAlertStore
{
    /// <summary>Creates the alert tables when they are missing.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    Task<IReadOnlyList<StoredAlertRule>> ListRulesAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the rule with this id.</summary>
    Task SaveRuleAsync(StoredAlertRule rule, CancellationToken cancellationToken = default);

    /// <summary>False when no rule had this id.</summary>
    Task<bool> DeleteRuleAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Stores an alert and returns its id: ids grow with every alert, across restarts. (The memory store keeps an id given.)</summary>
    Task<long> AppendAsync(StoredAlert alert, CancellationToken cancellationToken = default);

    /// <summary>Deletes alerts older than <paramref name="timestamp"/> (epoch ms), as retention does for readings; returns how many.</summary>
    Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the oldest alerts of each org beyond its newest <paramref name="keepPerOrg"/>; only the orgs named
    /// (null: every org in the store). Returns how many.
    /// </summary>
    Task<long> TrimAsync(int keepPerOrg, IReadOnlyCollection<string>? orgs = null, CancellationToken cancellationToken = default);

    /// <summary>Alerts matching <paramref name="query"/>, in id order (newest first when <see cref="AlertQuery.NewestFirst"/>).</summary>
    Task<IReadOnlyList<StoredAlert>> QueryAsync(AlertQuery query, CancellationToken cancellationToken = default);
}

/// <summary>A rule as stored: its id and scope as columns, the rule itself as JSON.</summary>
public sealed record StoredAlertRule(string Id, string? Org, string? Site, string Body, long UpdatedAt);

/// <summary>An alert as stored; <see cref="Id"/> is 0 until the store assigns one. <see cref="Body"/> is the alert's JSON without its id.</summary>
public sealed record StoredAlert(long Id, string Rule, string Type, string State, string Org, string Site, string? Der, long Timestamp, byte[] Body);

/// <summary>
/// Which alerts to read. Null members do not filter. <see cref="Orgs"/> and <see cref="Sites"/> are the caller's grant
/// (null: every org or site); <see cref="Site"/> is the caller's own filter.
/// </summary>
public sealed record AlertQuery
{
    public IReadOnlyCollection<string>? Orgs { get; init; }

    public IReadOnlyCollection<string>? Sites { get; init; }

    public string? Site { get; init; }

    public string? State { get; init; }

    public string? Type { get; init; }

    /// <summary>Epoch ms, inclusive.</summary>
    public long? From { get; init; }

    /// <summary>Epoch ms, exclusive.</summary>
    public long? To { get; init; }

    /// <summary>Only alerts with a larger id (resuming a stream).</summary>
    public long? AfterId { get; init; }

    /// <summary>Only alerts with a smaller id (paging back).</summary>
    public long? BeforeId { get; init; }

    public bool NewestFirst { get; init; }

    public int Limit { get; init; } = 1000;
}
