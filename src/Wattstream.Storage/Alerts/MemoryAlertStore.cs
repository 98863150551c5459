namespace Wattstream.Storage.Alerts;

/// <summary>The alert store while history is off: rules and the newest alerts in memory, gone at restart.</summary>
public sealed class MemoryAlertStore(int capacity = 10_000) : IAlertStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, StoredAlertRule> _rules = new(StringComparer.Ordinal);
    private readonly LinkedList<StoredAlert> _alerts = new();
    private long _nextId;

    public Task MigrateAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IReadOnlyList<StoredAlertRule>> ListRulesAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<StoredAlertRule>>([.. _rules.Values.OrderBy(r => r.Id, StringComparer.Ordinal)]);
        }
    }

    public Task SaveRuleAsync(StoredAlertRule rule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        lock (_gate)
        {
            _rules[rule.Id] = rule;
        }

        return Task.CompletedTask;
    }

    public Task<bool> DeleteRuleAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_rules.Remove(id));
        }
    }

    public Task<long> AppendAsync(StoredAlert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        lock (_gate)
        {
            var id = ++_nextId;
            _alerts.AddLast(alert with { Id = id });
            if (_alerts.Count > capacity)
            {
                _alerts.RemoveFirst();
            }

            return Task.FromResult(id);
        }
    }

    public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            long deleted = 0;
            for (var node = _alerts.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Timestamp < timestamp)
                {
                    _alerts.Remove(node);
                    deleted++;
                }

                node = next;
            }

            return Task.FromResult(deleted);
        }
    }

    public Task<IReadOnlyList<StoredAlert>> QueryAsync(AlertQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var matching = _alerts.Where(a => AlertFilter.Matches(query, a));
            var ordered = query.NewestFirst ? matching.Reverse() : matching;
            return Task.FromResult<IReadOnlyList<StoredAlert>>([.. ordered.Take(query.Limit)]);
        }
    }
}

/// <summary>The meaning of an <see cref="AlertQuery"/> for one alert (the SQL stores say the same in SQL).</summary>
public static class AlertFilter
{
    public static bool Matches(AlertQuery query, StoredAlert a)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(a);
        return (query.Orgs is null || query.Orgs.Contains(a.Org))
            && (query.Sites is null || query.Sites.Contains(a.Site))
            && (query.Site is null || query.Site == a.Site)
            && (query.State is null || query.State == a.State)
            && (query.Type is null || query.Type == a.Type)
            && (query.From is null || a.Timestamp >= query.From)
            && (query.To is null || a.Timestamp < query.To)
            && (query.AfterId is null || a.Id > query.AfterId)
            && (query.BeforeId is null || a.Id < query.BeforeId);
    }
}
