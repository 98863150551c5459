using Wattstream.Storage.Alerts;

namespace Wattstream.Alerts.Rules;

/// <summary>
/// Where the API's alert rules are kept: the alert store's database on a single node (<see cref="DatabaseAlertRules"/>),
/// a KV bucket every node shares in cluster mode, where a rule changed on one node reaches the others through
/// <see cref="Changed"/>.
/// </summary>
public interface IAlertRuleStore
{
    Task<IReadOnlyList<StoredAlertRule>> ListRulesAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the rule with this id.</summary>
    Task SaveRuleAsync(StoredAlertRule rule, CancellationToken cancellationToken = default);

    /// <summary>False when no rule had this id.</summary>
    Task<bool> DeleteRuleAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>A rule as the store holds it now (null: deleted), whichever node changed it; a store only one node writes never raises it.</summary>
    event Action<string, StoredAlertRule?>? Changed;
}

/// <summary>The rules in the alert store's tables (SQLite, PostgreSQL, or memory without history): one node's own.</summary>
public sealed class DatabaseAlertRules(IAlertStore store) : IAlertRuleStore
{
    public Task<IReadOnlyList<StoredAlertRule>> ListRulesAsync(CancellationToken cancellationToken = default) => store.ListRulesAsync(cancellationToken);

    public Task SaveRuleAsync(StoredAlertRule rule, CancellationToken cancellationToken = default) => store.SaveRuleAsync(rule, cancellationToken);

    public Task<bool> DeleteRuleAsync(string id, CancellationToken cancellationToken = default) => store.DeleteRuleAsync(id, cancellationToken);

    public event Action<string, StoredAlertRule?>? Changed
    {
        add { }
        remove { }
    }
}
