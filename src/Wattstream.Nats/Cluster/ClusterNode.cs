using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;

namespace Wattstream.Nats.Cluster;

/// <summary>What a cluster node is doing, for /readyz and /api/nats.</summary>
public sealed record ClusterStatus(
    string Node,
    string State,
    string Stream,
    long Epoch,
    long NextSequence,
    long Delivered,
    long Pending,
    long Skipped,
    long Appended,
    long Duplicates,
    long Waiting,
    long Dropped,
    long Failed,
    string? LastError);

/// <summary>
/// Makes this node one of several hub nodes acting as one service (<c>Nats:Cluster=true</c>): at start it connects (NATS
/// must be there: the stream's identity is the event ids' epoch), sets up the stream, attaches the
/// <see cref="JetStreamLog"/> to the hub so readings made here go to the stream, and then runs the
/// <see cref="JetStreamFeed"/> that brings the stream's readings into the hub. A new node starts its feed a ring's worth
/// of readings back, so its ring is as full as its peers' from the start.
/// </summary>
public sealed class ClusterNode(IOptions<NatsOptions> options, TelemetryHub hub, ILoggerFactory loggers) : IHostedLifecycleService, IJobOwnership, IAsyncDisposable
{
    private readonly ILogger _log = loggers.CreateLogger<ClusterNode>();
    private readonly CancellationTokenSource _stopping = new();
    private NatsConnection? _connection;
    private JetStreamLog? _writer;
    private JetStreamFeed? _feed;
    private Task _writing = Task.CompletedTask;
    private Task _feeding = Task.CompletedTask;
    private int _disposed;

    public NatsOptions Options { get; } = options.Value;

    /// <summary>The stream's identity (its creation time, ms): the epoch of every event id in the cluster.</summary>
    public long Epoch { get; private set; }

    public NatsConnection? Connection => _connection;

    /// <summary>This node's membership and job leases (docs/scaling.md); null until the node has started.</summary>
    public ClusterCoordinator? Coordinator { get; private set; }

    public string Node => Options.Node;

    public IReadOnlyCollection<string> Owned => Coordinator?.Leases.Owned ?? [];

    /// <summary>
    /// The node's jobs run under its leases. Registered from hosted services' StartAsync, after this node's
    /// StartingAsync joined the cluster.
    /// </summary>
    public Task<IAsyncDisposable> RunWhileOwnedAsync(string key, Func<CancellationToken, Task> job, CancellationToken cancellationToken = default) =>
        (Coordinator ?? throw new InvalidOperationException("The cluster node has not joined yet: jobs are registered once the host is starting."))
            .Leases.RunWhileOwnedAsync(key, job, cancellationToken);

    public ClusterStatus Status => new(
        Options.Node,
        _connection?.ConnectionState.ToString().ToLowerInvariant() ?? "off",
        Options.Stream,
        Epoch,
        _feed?.NextSequence ?? 0,
        _feed?.Delivered ?? 0,
        _feed?.Pending ?? 0,
        _feed?.Skipped ?? 0,
        _writer?.Appended ?? 0,
        _writer?.Duplicates ?? 0,
        _writer?.Waiting ?? 0,
        _writer?.Dropped ?? 0,
        _writer?.Failed ?? 0,
        _writer?.LastError);

    // Before any hosted service starts: the simulator's and the sources' first readings must already go to the log.
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        _connection = NatsConnections.Create(
            Options.Url!,
            $"wattstream-{Options.Node}",
            Options.Credentials,
            loggers);
        var connect = _connection.ConnectAsync().AsTask();
        if (await Task.WhenAny(connect, Task.Delay(Options.ConnectTimeout, cancellationToken)) != connect || !connect.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException(
                $"Nats:Cluster is on, and NATS at {NatsConnections.SafeUrl(Options.Url!)} did not answer within {Options.ConnectTimeout.TotalSeconds:0.#} s "
                + "(Nats:ConnectTimeout). A cluster node starts only with NATS there: event ids count in the stream's sequence.");
        }

        var info = await TelemetryStream.EnsureAsync(_connection, Options, cancellationToken);
        Epoch = TelemetryStream.Epoch(info);
        var first = Math.Max(1L, (long)info.State.FirstSeq);
        var last = (long)info.State.LastSeq;
        var start = Math.Max(first, last - hub.ReplayCapacity + 1);
        _writer = new JetStreamLog(_connection, Options, _log);
        _feed = new JetStreamFeed(_connection, Options, hub, start, _log);
        hub.AttachLog(_writer, Epoch, start);
        _writing = Task.Run(() => _writer.RunAsync(_stopping.Token), CancellationToken.None);
        Coordinator = await ClusterCoordinator.StartAsync(_connection, Options.Node, Options.LeaseTtl, Options.Replicas, _log, cancellationToken);
        _log.LogInformation(
            "Cluster node {Node}: stream {Stream} (epoch {Epoch}) holds sequences {First}–{Last}; this node starts at {Start}",
            Options.Node, Options.Stream, Epoch, first, last, start);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // After every hosted service started: history and the status tracker subscribe to the hub before events flow.
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _feeding = Task.Run(() => _feed!.RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Readings still queued for the stream get a moment to go out; then the feed and the writer stop.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (_writer is { Waiting: > 0 } && _connection?.ConnectionState == NatsConnectionState.Open && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken);
        }

        // Leases handed on first, while the connection is surely open, so the next owners take over at once.
        if (Coordinator is { } coordinator)
        {
            await coordinator.DisposeAsync();
        }

        await _stopping.CancelAsync();
        await Task.WhenAny(Task.WhenAll(_writing, _feeding), Task.Delay(TimeSpan.FromSeconds(5), cancellationToken));
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        if (Coordinator is { } coordinator)
        {
            await coordinator.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _stopping.Dispose();
    }
}
