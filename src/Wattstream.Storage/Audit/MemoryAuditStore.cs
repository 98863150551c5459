namespace Wattstream.Storage.Audit;

/// <summary>The audit log while history is off: in memory, gone at restart, at most <paramref name="capacity"/> entries.</summary>
public sealed class MemoryAuditStore(int capacity = 10_000) : IAuditStore
{
    private readonly Lock _gate = new();
    private readonly LinkedList<AuditEntry> _entries = new();
    private long _nextId;

    public Task MigrateAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            _entries.AddLast(entry with { Id = ++_nextId });
            if (_entries.Count > capacity)
            {
                // The oldest of the org with the most entries: one org's churn pushes out its own history, not another's.
                var busiest = _entries.CountBy(e => e.Org ?? "").MaxBy(c => c.Value).Key;
                _entries.Remove(_entries.First(e => (e.Org ?? "") == busiest));
            }
        }

        return Task.CompletedTask;
    }

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var visible = _entries.Reverse().Where(e => query.Orgs is null || (e.Org is not null && query.Orgs.Contains(e.Org))).ToList();
            return Task.FromResult(new AuditPage([.. visible.Skip(query.Offset).Take(query.Limit)], visible.Count));
        }
    }

    public Task<long> DeleteOlderThanAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(RemoveWhere(e => e.Timestamp < timestamp));
        }
    }

    public Task<long> TrimAsync(int keepPerOrg, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            // Newest first: an entry goes once its org has keepPerOrg newer ones.
            var kept = new Dictionary<string, int>(StringComparer.Ordinal);
            var doomed = _entries.Reverse().Where(e => (kept[e.Org ?? ""] = kept.GetValueOrDefault(e.Org ?? "") + 1) > keepPerOrg).ToHashSet();
            return Task.FromResult(RemoveWhere(doomed.Contains));
        }
    }

    private long RemoveWhere(Func<AuditEntry, bool> doomed)
    {
        var before = _entries.Count;
        for (var node = _entries.First; node is not null;)
        {
            var next = node.Next;
            if (doomed(node.Value))
            {
                _entries.Remove(node);
            }

            node = next;
        }

        return before - _entries.Count;
    }
}
