namespace Wattstream.Storage.Alerts;

/// <summary>
/// The alert store while history is off: rules and the newest alerts in memory, gone at restart. Past
/// <paramref name="capacity"/> alerts in all, the oldest of the org holding the most goes: one org's flood pushes out
/// its own alerts, not another's.
/// </summary>
public sealed class MemoryAlertStore(int capacity = 10_000) : IAlertStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, StoredAlertRule> _rules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<StoredAlert>> _alerts = new(StringComparer.Ordinal);
    private int _count;
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
            // An id given (a cluster's stream sequence) is kept; otherwise the next one.
            var id = alert.Id > 0 ? alert.Id : _nextId + 1;
            _nextId = Math.Max(_nextId, id);
            if (!_alerts.TryGetValue(alert.Org, out var list))
            {
                _alerts[alert.Org] = list = new LinkedList<StoredAlert>();
            }

            list.AddLast(alert with { Id = id });
            if (++_count > capacity)
            {
                RemoveOldest(_alerts.Values.MaxBy(l => l.Count)!, 1);
            }

            return Task.FromResult(id);
        }
    }

    public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            long deleted = 0;
            foreach (var list in _alerts.Values)
            {
                for (var node = list.First; node is not null;)
                {
                    var next = node.Next;
                    if (node.Value.Timestamp < timestamp)
                    {
                        list.Remove(node);
                        deleted++;
                    }

                    node = next;
                }
            }

            _count -= (int)deleted;
            return Task.FromResult(deleted);
        }
    }

    public Task<long> TrimAsync(int keepPerOrg, IReadOnlyCollection<string>? orgs = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepPerOrg);
        lock (_gate)
        {
            long deleted = 0;
            foreach (var (org, list) in _alerts)
            {
                if (orgs is null || orgs.Contains(org))
                {
                    deleted += RemoveOldest(list, list.Count - keepPerOrg);
                }
            }

            return Task.FromResult(deleted);
        }
    }

    public Task<IReadOnlyList<StoredAlert>> QueryAsync(AlertQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var matching = _alerts.Values.SelectMany(l => l).Where(a => AlertFilter.Matches(query, a));
            var ordered = query.NewestFirst ? matching.OrderByDescending(a => a.Id) : matching.OrderBy(a => a.Id);
            return Task.FromResult<IReadOnlyList<StoredAlert>>([.. ordered.Take(query.Limit)]);
        }
    }

    private int RemoveOldest(LinkedList<StoredAlert> list, int count)
    {
        var removed = 0;
        for (; removed < count && list.First is not null; removed++)
        {
            list.RemoveFirst();
        }

        _count -= removed;
        return removed;
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
