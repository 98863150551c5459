using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;
using Wattstream.Hub.Status;
using Wattstream.Nats.Cluster;
using Wattstream.Telemetry;

namespace Wattstream.Sources;

/// <summary>A source as its owner shares it in <see cref="ClusterBuckets.Sources"/>: the owner's status of it, when, and its DERs.</summary>
public sealed record SharedSourceStatus(string Owner, DateTimeOffset At, SourceStatus Source, ConnectionStatus Connection, SharedDer[] Ders);

/// <summary>A DER of a shared source, so a node that does not run the source can set its status.</summary>
public sealed record SharedDer(string Org, string Site, string Device, string Der, DerType Type);

/// <summary>
/// Sources in cluster mode (<c>Nats:Cluster=true</c>), where each runs on one node (<see cref="SourceHost"/>): the owner
/// writes each source it runs into the KV bucket <c>wattstream_sources</c> on every change and every second; every node
/// watches the bucket, so <c>/api/sources</c> shows on any node each source with its owner and the owner's status and
/// counters, and the connection status the owner's source gives its DERs (down, up, auth failed) is set on this node's
/// status board too — HES status, <c>/ws</c> status and <c>source_down</c> alerts follow the owner on every node.
/// </summary>
public sealed partial class ClusterSourceStatuses(SourceHost sources, ClusterNode node, StatusBoard board, TimeProvider time, ILogger<ClusterSourceStatuses> log) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>How often the owner looks for a change of its sources; unchanged ones are written every <see cref="Refresh"/>.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    // Each source's last shared entry and when this node received it (its own clock: the owner's may differ).
    private readonly ConcurrentDictionary<string, (SharedSourceStatus Status, DateTimeOffset Received)> _shared = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Owner, ConnectionStatus Connection, string? Error)> _applied = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (SharedSourceStatus Status, DateTimeOffset Written)> _written = new(StringComparer.Ordinal);
    private INatsKVStore? _bucket;

    /// <summary>Written at least this often, well inside the bucket's TTL (<c>Nats:LeaseTtl</c>, at least 1 s).</summary>
    private TimeSpan Refresh => TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, node.Options.LeaseTtl.Ticks / 3));

    /// <summary>
    /// Every configured source: as this node runs it, or as its owner last shared it (within the TTL); a source no node
    /// is known to run has <c>owner</c> null and this node's last view of it.
    /// </summary>
    public IEnumerable<SourceStatus> Statuses()
    {
        var now = time.GetUtcNow();
        return sources.Statuses().Select(local => local.Owner is null && _shared.TryGetValue(local.Id, out var shared) && now - shared.Received < node.Options.LeaseTtl
            ? shared.Status.Source with { Owner = shared.Status.Owner }
            : local);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var connection = node.Connection ?? throw new InvalidOperationException("The cluster node has not connected yet.");
        _bucket = await ClusterBuckets.OpenAsync(connection, ClusterBuckets.Sources, node.Options.LeaseTtl, node.Options.Replicas, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            Task.Run(() => ShareAsync(stoppingToken), CancellationToken.None),
            Task.Run(() => WatchAsync(stoppingToken), CancellationToken.None));

    // The owner's side: each source this node runs, written when it changed or its entry is due.
    private async Task ShareAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Tick, time);
        try
        {
            do
            {
                await ShareOnceAsync(stopping);
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The node stops; its entries lapse with the TTL or are overwritten by the sources' next owners.
        }
    }

    private async Task ShareOnceAsync(CancellationToken stopping)
    {
        var now = time.GetUtcNow();
        foreach (var source in sources.Sources)
        {
            var id = source.Options.Id;
            if (!sources.Runs(id))
            {
                _written.Remove(id);
                continue;
            }

            _applied.TryRemove(id, out _); // this node's own source sets its DERs itself
            var status = new SharedSourceStatus(
                node.Node,
                now,
                SourceHost.StatusOf(source) with { Owner = node.Node },
                source.State.Status,
                [.. source.Ders.Select(d => new SharedDer(d.Address.Org, d.Address.Site, d.Address.Device, d.Address.Der, d.Type))]);
            if (_written.TryGetValue(id, out var last) && now - last.Written < Refresh && Same(last.Status, status))
            {
                continue;
            }

            try
            {
                await _bucket!.PutAsync(ClusterBuckets.Encode(id), JsonSerializer.Serialize(status, Json), cancellationToken: stopping);
                _written[id] = (status, now);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                LogShareFailed(id, e.Message); // tried again on the next tick
            }
        }
    }

    // A change worth writing at once: the status, its error, the DERs; counters go out with the next refresh.
    private static bool Same(SharedSourceStatus a, SharedSourceStatus b) =>
        a.Connection == b.Connection && a.Source.LastError == b.Source.LastError && a.Ders.Length == b.Ders.Length;

    // Every node's side: the bucket's entries as they change, and the owners' statuses set on this node's board.
    private async Task WatchAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await foreach (var entry in _bucket!.WatchAsync<string>(cancellationToken: stopping))
                {
                    var id = ClusterBuckets.Decode(entry.Key);
                    if (entry.Operation != NatsKVOperation.Put || entry.Value is null)
                    {
                        _shared.TryRemove(id, out _);
                        continue;
                    }

                    if (Read(id, entry.Value) is { } shared)
                    {
                        _shared[id] = (shared, time.GetUtcNow());
                        Follow(id, shared);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                LogWatchFailed(e.Message);
                await Task.Delay(Refresh, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    // An entry this version cannot read (another version's, during a rolling upgrade) is skipped, not a stop of the watch.
    private SharedSourceStatus? Read(string id, string json)
    {
        try
        {
            return JsonSerializer.Deserialize<SharedSourceStatus>(json, Json);
        }
        catch (JsonException e)
        {
            LogUnreadable(id, e.Message);
            return null;
        }
    }

    // Sets the owner's view of its source on this node's DERs, once per change of owner or status (as the source itself
    // does on its owner): readings and the stale sweep go on marking the DERs between changes.
    private void Follow(string id, SharedSourceStatus shared)
    {
        if (shared.Owner == node.Node || sources.Runs(id))
        {
            return;
        }

        var state = (shared.Owner, shared.Connection, shared.Source.LastError);
        if (_applied.TryGetValue(id, out var applied) && applied == state)
        {
            return;
        }

        _applied[id] = state;
        foreach (var der in shared.Ders)
        {
            if (DerAddress.TryCreate(der.Org, der.Site, der.Device, der.Der, out var address))
            {
                board.Set(address!, der.Type, shared.Connection, shared.Connection == ConnectionStatus.Connected ? null : shared.Source.LastError);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: the status of source {Source} could not be shared: {Error}")]
    private partial void LogShareFailed(string source, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: the shared status of source {Source} is unreadable ({Error}); skipped")]
    private partial void LogUnreadable(string source, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: watching the sources' statuses failed: {Error}; watching again")]
    private partial void LogWatchFailed(string error);
}
