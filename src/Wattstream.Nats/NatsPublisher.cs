using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;
using Wattstream.Streaming.Feeds;

namespace Wattstream.Nats;

/// <summary>What the NATS link is doing, for /readyz and /api/nats.</summary>
/// <param name="Published">Items of feeds published to the JetStream stream (readings).</param>
/// <param name="Dropped">Items of those feeds dropped while NATS was away past the queue's capacity.</param>
public sealed record NatsLinkStatus(string State, string Stream, long Published, long Dropped, long Failed, string? LastError)
{
    /// <summary>In cluster mode, the node's feed from the stream and its log writer.</summary>
    public Cluster.ClusterStatus? Cluster { get; init; }

    /// <summary>Items published per feed kind (<c>readings</c>, <c>status</c>, <c>alerts</c>, <c>summary</c>, …).</summary>
    public IReadOnlyDictionary<string, long> Feeds { get; init; } = new Dictionary<string, long>();
}

/// <summary>
/// One more subscriber of every registered feed, like history: each item goes to its subject — readings, as the bytes
/// the Novacore SSE stream sends, to the JetStream stream with a message id (<c>Nats-Msg-Id: {der}:{timestamp}</c>) so
/// JetStream stores a reading published twice once; status changes, alerts and summaries to their subjects on core NATS.
/// The publisher knows no feed by name: each feed says how it is published (<see cref="IFeed.Publication"/>). The
/// JetStream stream is created or updated at start. While NATS is away the hub goes on serving: items wait in this
/// subscriber's queues (the oldest dropped past their capacity) and go out when the connection is back. In cluster mode
/// every node computes the feeds of state (statuses, summaries) alike from the cluster's stream, and one node publishes
/// each of them: the holder of the job <c>publish:{kind}</c>, which starts with the present whenever it takes over.
/// </summary>
public sealed class NatsPublisher(
    IOptions<NatsOptions> options,
    TelemetryHub hub,
    FeedRegistry feeds,
    IJobOwnership jobs,
    ILoggerFactory loggers) : IHostedLifecycleService, IAsyncDisposable
{
    private const int CoreQueueCapacity = 4096;

    private readonly NatsOptions _options = options.Value;
    private readonly ILogger _log = loggers.CreateLogger<NatsPublisher>();
    private readonly CancellationTokenSource _stopping = new();
    private (IFeed Feed, IFeedMessages Messages, Counter Published)[] _queues = [];
    private (IFeed Feed, Counter Published)[] _once = [];
    private readonly List<IAsyncDisposable> _publishing = [];
    private NatsConnection? _connection;
    private Task _pumps = Task.CompletedTask;
    private readonly TaskCompletionSource _streamReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _failed;
    private string? _lastError;
    private int _disposed;

    public NatsLinkStatus Status => new(
        _connection?.ConnectionState.ToString().ToLowerInvariant() ?? "off",
        _options.Stream,
        _queues.Where(q => q.Feed.Publication == FeedPublication.Stream).Sum(q => q.Published.Value),
        _queues.Where(q => q.Feed.Publication == FeedPublication.Stream).Sum(q => q.Messages.Dropped),
        Interlocked.Read(ref _failed),
        Volatile.Read(ref _lastError))
    {
        Feeds = _queues.Select(q => (q.Feed, q.Published)).Concat(_once).ToDictionary(q => q.Feed.Kind, q => q.Published.Value),
    };

    /// <summary>The job whose holder publishes a feed of state for the whole cluster.</summary>
    public static string PublishJob(string kind) => $"publish:{kind}";

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Subscribed before any source starts, so the first reading is published too. In cluster mode the stream's
        // items (readings) reach it through the cluster's log instead.
        if (_queues.Length == 0)
        {
            bool Once(IFeed f) => _options.Cluster && f.Publication == FeedPublication.Core && f.PublishedOnce;
            _queues =
            [
                .. feeds.All
                    .Where(f => (f.Publication == FeedPublication.Core && !Once(f)) || (f.Publication == FeedPublication.Stream && !_options.Cluster))
                    .Select(f => (f, f.OpenPublication(f.Publication == FeedPublication.Stream ? _options.QueueCapacity : CoreQueueCapacity), new Counter())),
            ];
            _once = [.. feeds.All.Where(Once).Select(f => (f, new Counter()))];
        }

        return Task.CompletedTask;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await StartingAsync(cancellationToken);
        _connection = NatsConnections.Create(
            _options.Url!,
            $"wattstream-{_options.Node}",
            _options.Credentials,
            loggers);
        var connect = _connection.ConnectAsync().AsTask();
        if (await Task.WhenAny(connect, Task.Delay(_options.ConnectTimeout, cancellationToken)) == connect && connect.IsCompletedSuccessfully)
        {
            await EnsureStreamAsync(cancellationToken); // a server without JetStream stops the start here, with a message
        }
        else
        {
            Volatile.Write(ref _lastError, $"not connected to {SafeUrl} yet");
            _log.LogWarning("NATS at {Url} is not reachable yet; the hub serves on and publishes once it is", SafeUrl);
            _ = connect.ContinueWith(
                async _ =>
                {
                    try
                    {
                        await EnsureStreamAsync(_stopping.Token);
                    }
                    catch (Exception e) when (e is NatsException or InvalidOperationException or OperationCanceledException)
                    {
                        Volatile.Write(ref _lastError, $"the JetStream stream {_options.Stream} could not be set up");
                        _log.LogError("NATS: the JetStream stream {Stream} could not be set up: {Error}", _options.Stream, e.Message);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion,
                TaskScheduler.Default);
        }

        _pumps = Task.WhenAll(_queues.Select(q => Task.Run(() => PublishAsync(q.Feed, q.Messages, q.Published, _connection, _stopping.Token), CancellationToken.None)));
        if (_options.Cluster && !_options.PublishStatus)
        {
            _log.LogWarning(
                "Nats:PublishStatus=false is ignored in cluster mode: status changes are published once for the cluster, by the node holding the job {Job} (docs/scaling.md)",
                PublishJob("status"));
        }

        foreach (var (feed, published) in _once)
        {
            var connection = _connection;
            _publishing.Add(await jobs.RunWhileOwnedAsync(PublishJob(feed.Kind), owned => PublishWhileOwnedAsync(feed, published, connection, owned), cancellationToken));
        }
    }

    // One node's turn at publishing a feed of state for the cluster: the present first (whatever changed while the job
    // moved goes out now; a state published twice is harmless), then every change, until the lease ends.
    private async Task PublishWhileOwnedAsync(IFeed feed, Counter published, NatsConnection connection, CancellationToken owned)
    {
        using var messages = feed.OpenPublication(CoreQueueCapacity);
        await using var end = owned.Register(messages.Dispose);
        try
        {
            await PublishAsync(feed, messages, published, connection, owned);
        }
        catch (OperationCanceledException) when (owned.IsCancellationRequested)
        {
            // The lease ended (moved, lost, or this node stops): the next holder publishes from here.
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Publishing for the cluster is handed on at once.
        await Task.WhenAll(_publishing.Select(p => p.DisposeAsync().AsTask()));
        foreach (var (_, messages, _) in _queues)
        {
            messages.Dispose(); // the pumps drain what is queued, then end
        }

        await Task.WhenAny(_pumps, Task.Delay(TimeSpan.FromSeconds(5), cancellationToken));
        await _stopping.CancelAsync();
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the container disposes it as a singleton and as the hosted service it also is
        }

        await _stopping.CancelAsync();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private string SafeUrl => NatsConnections.SafeUrl(_options.Url!);

    private async Task EnsureStreamAsync(CancellationToken cancellationToken)
    {
        await TelemetryStream.EnsureAsync(_connection!, _options, cancellationToken);
        _streamReady.TrySetResult(); // readings go out only once the stream that keeps them exists
    }

    // Each item to its subject, in the order its feed gives them, counted. Items bound for the stream go out only once
    // the stream that keeps them exists, with their message id and this hub's run as their origin.
    private async Task PublishAsync(IFeed feed, IFeedMessages messages, Counter published, NatsConnection connection, CancellationToken stopping)
    {
        var toStream = feed.Publication == FeedPublication.Stream;
        var origin = hub.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (toStream)
        {
            await _streamReady.Task.WaitAsync(stopping);
        }

        while (await messages.WaitToReadAsync())
        {
            while (messages.TryRead(out var message))
            {
                stopping.ThrowIfCancellationRequested(); // a lease that ended publishes nothing more
                var headers = toStream && message.MessageId is { } id
                    ? new NatsHeaders { [NatsSubjects.MessageIdHeader] = id, [NatsSubjects.OriginHeader] = origin }
                    : null;
                await PublishWithRetryAsync(connection, message.Subject, message.Payload, headers, stopping);
                published.Increment();
            }
        }
    }

    // A publish that fails while NATS is away is tried again: nothing queued is skipped. One that fails on an open
    // connection (a payload over the server's limit) never will succeed: it is counted and skipped.
    private async Task PublishWithRetryAsync(NatsConnection connection, string subject, ReadOnlyMemory<byte> payload, NatsHeaders? headers, CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await connection.PublishAsync(subject, payload, headers, cancellationToken: stopping);
                return;
            }
            catch (NatsException e) when (connection.ConnectionState == NatsConnectionState.Open)
            {
                Interlocked.Increment(ref _failed);
                Volatile.Write(ref _lastError, "a publish failed on an open connection; skipped");
                _log.LogWarning("NATS refused a publish on {Subject}: {Error}; skipped", subject, e.GetType().Name);
                return;
            }
            catch (NatsException)
            {
                Volatile.Write(ref _lastError, $"disconnected from {SafeUrl}");
                await Task.Delay(delay, stopping);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private sealed class Counter
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }
}
