using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace Wattstream.Nats.Cluster;

/// <summary>A node as the membership bucket shows it: when it joined and when it last wrote its heartbeat (server time).</summary>
public sealed record ClusterMember(string Node, DateTimeOffset Joined, DateTimeOffset LastHeartbeat);

/// <summary>
/// This node's place in the cluster: an entry in <see cref="ClusterBuckets.Nodes"/> written every third of
/// <c>Nats:LeaseTtl</c>. The bucket forgets an entry a TTL after its last write, so a node that dies (kill -9) or is cut
/// off leaves the list within the TTL; one that stops gracefully deletes its entry at once.
/// </summary>
public sealed class ClusterMembership : IAsyncDisposable
{
    private readonly INatsKVStore _bucket;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _key;
    private readonly string _joined = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
    private Task _heartbeat = Task.CompletedTask;
    private int _liveNodes;
    private int _disposed;

    private ClusterMembership(INatsKVStore bucket, string node, TimeSpan ttl, int replicas, ILogger log)
    {
        _bucket = bucket;
        Node = node;
        Ttl = ttl;
        Replicas = replicas;
        _log = log;
        _key = ClusterBuckets.Encode(node);
    }

    /// <summary>This node's id (<c>Nats:NodeId</c>).</summary>
    public string Node { get; }

    /// <summary>How long an entry lives without a heartbeat (<c>Nats:LeaseTtl</c>).</summary>
    public TimeSpan Ttl { get; }

    /// <summary>The coordination buckets' replicas (<c>Nats:Replicas</c>).</summary>
    public int Replicas { get; }

    /// <summary>The heartbeat's (and the leases' renewal) period: a third of the TTL, so one lost write is no departure.</summary>
    public TimeSpan Period => Ttl / 3;

    /// <summary>How many live nodes the last look at the bucket found (for <c>wattstream_cluster_nodes</c>).</summary>
    public int LiveNodes => Volatile.Read(ref _liveNodes);

    /// <summary>Opens the bucket, registers this node and starts its heartbeat.</summary>
    public static Task<ClusterMembership> JoinAsync(INatsConnection connection, string node, TimeSpan ttl, ILogger log, CancellationToken cancellationToken) =>
        JoinAsync(connection, node, ttl, replicas: 1, log, cancellationToken);

    /// <summary>Opens the bucket at <paramref name="replicas"/> replicas, registers this node and starts its heartbeat.</summary>
    public static async Task<ClusterMembership> JoinAsync(INatsConnection connection, string node, TimeSpan ttl, int replicas, ILogger log, CancellationToken cancellationToken)
    {
        var bucket = await ClusterBuckets.OpenAsync(connection, ClusterBuckets.Nodes, ttl, replicas, cancellationToken);
        var membership = new ClusterMembership(bucket, node, ttl, replicas, log);
        await membership.BeatAsync(cancellationToken);
        membership._heartbeat = Task.Run(() => membership.HeartbeatAsync(membership._stopping.Token), CancellationToken.None);
        return membership;
    }

    /// <summary>The nodes whose heartbeat the bucket still holds, by id.</summary>
    public async Task<IReadOnlyList<ClusterMember>> MembersAsync(CancellationToken cancellationToken)
    {
        var members = (await ClusterBuckets.EntriesAsync(_bucket, cancellationToken))
            .Select(e => new ClusterMember(
                ClusterBuckets.Decode(e.Key),
                DateTimeOffset.TryParse(e.Value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var joined) ? joined : e.Created,
                e.Created))
            .OrderBy(m => m.Node, StringComparer.Ordinal)
            .ToList();
        Volatile.Write(ref _liveNodes, members.Count);
        return members;
    }

    /// <summary>The ids of the live nodes: the candidates of rendezvous hashing.</summary>
    public async Task<IReadOnlyList<string>> LiveNodesAsync(CancellationToken cancellationToken) =>
        [.. (await MembersAsync(cancellationToken)).Select(m => m.Node)];

    private Task BeatAsync(CancellationToken cancellationToken) => _bucket.PutAsync(_key, _joined, cancellationToken: cancellationToken).AsTask();

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await BeatAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The next tick tries again; past the TTL the node has left the list, and its leases lapse as well.
                _log.LogWarning("Cluster node {Node}: heartbeat not written ({Error})", Node, e.Message);
            }
        }
    }

    /// <summary>Leaves the cluster: stops the heartbeat and deletes this node's entry so the others see it gone at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _heartbeat.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        try
        {
            using var timeout = new CancellationTokenSource(Period);
            await _bucket.DeleteAsync(_key, cancellationToken: timeout.Token);
        }
        catch (Exception e)
        {
            // Gone anyway a TTL from its last heartbeat.
            _log.LogDebug("Cluster node {Node}: entry not deleted on leaving ({Error})", Node, e.Message);
        }

        _stopping.Dispose();
    }
}
