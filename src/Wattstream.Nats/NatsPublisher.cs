using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry;
using Wattstream.Alerts.Delivery;
using Wattstream.Energy.Summaries;

namespace Wattstream.Nats;

/// <summary>What the NATS link is doing, for /readyz and /api/nats.</summary>
public sealed record NatsLinkStatus(string State, string Stream, long Published, long StatusesPublished, long Dropped, long Failed, string? LastError)
{
    /// <summary>In cluster mode, the node's feed from the stream and its log writer.</summary>
    public Cluster.ClusterStatus? Cluster { get; init; }

    /// <summary>Alerts published on <c>orgs.{org}.sites.{site}.alerts.json.v1</c>.</summary>
    public long AlertsPublished { get; init; }

    /// <summary>Site summaries published on <c>orgs.{org}.sites.{site}.summary.json.v1</c>.</summary>
    public long SummariesPublished { get; init; }
}

/// <summary>
/// One more subscriber of the hub, like history: every accepted reading goes to its Novacore subject, as the bytes the
/// Novacore SSE stream sends, with <c>Nats-Msg-Id: {der}:{timestamp}</c> so JetStream stores a reading published twice
/// once; status changes go to <c>….status.json.v1</c>. The JetStream stream is created or updated at start. While NATS
/// is away the hub goes on serving: readings wait in this subscriber's queue (the oldest dropped past its capacity)
/// and go out when the connection is back.
/// </summary>
public sealed class NatsPublisher(
    IOptions<NatsOptions> options,
    TelemetryHub hub,
    StatusBoard board,
    PayloadFormats formats,
    ILoggerFactory loggers,
    AlertFeed? alertFeed = null,
    SummaryBoard? summaryBoard = null) : IHostedLifecycleService, IAsyncDisposable
{
    private readonly NatsOptions _options = options.Value;
    private readonly ILogger _log = loggers.CreateLogger<NatsPublisher>();
    private readonly CancellationTokenSource _stopping = new();
    private HubSubscription? _readings;
    private FeedSubscription<DerStatus>? _statuses;
    private FeedSubscription<Alert>? _alerts;
    private FeedSubscription<SiteSummary>? _summaries;
    private NatsConnection? _connection;
    private Task _pumps = Task.CompletedTask;
    private readonly TaskCompletionSource _streamReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _published;
    private long _statusesPublished;
    private long _alertsPublished;
    private long _summariesPublished;
    private long _failed;
    private string? _lastError;
    private int _disposed;

    public NatsLinkStatus Status => new(
        _connection?.ConnectionState.ToString().ToLowerInvariant() ?? "off",
        _options.Stream,
        Interlocked.Read(ref _published),
        Interlocked.Read(ref _statusesPublished),
        _readings?.Dropped ?? 0,
        Interlocked.Read(ref _failed),
        Volatile.Read(ref _lastError))
    {
        AlertsPublished = Interlocked.Read(ref _alertsPublished),
        SummariesPublished = Interlocked.Read(ref _summariesPublished),
    };

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Subscribed before any source starts, so the first reading is published too. In cluster mode readings reach
        // the stream through the cluster's log instead, and only status changes are published here.
        if (!_options.Cluster)
        {
            _readings ??= hub.Subscribe(SubjectPattern.All, new SubscribeOptions { QueueCapacity = _options.QueueCapacity });
        }

        if (_options.PublishStatus)
        {
            _statuses ??= board.Subscribe(capacity: 4096);
        }

        // Alerts go to their site's subject, orgs.{org}.sites.{site}.alerts.json.v1 (core NATS, not the stream).
        _alerts ??= alertFeed?.Subscribe(capacity: 4096);

        // Site summaries to orgs.{org}.sites.{site}.summary.json.v1, as they are made (at most once a second a site).
        _summaries ??= summaryBoard?.Subscribe(capacity: 4096);

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

        _pumps = Task.WhenAll(
            _readings is null ? Task.CompletedTask : Task.Run(() => PublishReadingsAsync(_readings, _connection, _stopping.Token), CancellationToken.None),
            _statuses is null ? Task.CompletedTask : Task.Run(() => PublishFeedAsync(_statuses, s => NatsSubjects.Status(s.Der), s => StatusJson(s), () => Interlocked.Increment(ref _statusesPublished), _connection, _stopping.Token), CancellationToken.None),
            _alerts is null ? Task.CompletedTask : Task.Run(() => PublishFeedAsync(_alerts, a => a.Subject, a => a.Json, () => Interlocked.Increment(ref _alertsPublished), _connection, _stopping.Token), CancellationToken.None),
            _summaries is null ? Task.CompletedTask : Task.Run(() => PublishFeedAsync(_summaries, s => s.Subject, s => s.Json, () => Interlocked.Increment(ref _summariesPublished), _connection, _stopping.Token), CancellationToken.None));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _readings?.Dispose(); // the pumps drain what is queued, then end
        _statuses?.Dispose();
        _alerts?.Dispose();
        _summaries?.Dispose();
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

    private async Task PublishReadingsAsync(HubSubscription readings, NatsConnection connection, CancellationToken stopping)
    {
        var novacore = formats.Find(Telemetry.Formats.NovacoreReading.FormatName) ?? throw new InvalidOperationException("The Novacore payload format is not registered (AddNovacore).");
        var origin = hub.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await _streamReady.Task.WaitAsync(stopping);
        while (await readings.WaitToReadAsync(CancellationToken.None))
        {
            while (readings.TryRead(out var e))
            {
                var reading = e.Reading;
                var headers = new NatsHeaders
                {
                    [NatsSubjects.MessageIdHeader] = NatsSubjects.MessageId(reading.Der, reading.Timestamp),
                    [NatsSubjects.OriginHeader] = origin,
                };
                await PublishWithRetryAsync(connection, reading.Der.Subject, e.GetEncoded(novacore), headers, stopping);
                Interlocked.Increment(ref _published);
            }
        }
    }

    // Statuses, alerts and summaries: each item to its subject, in the order its feed gives them, counted.
    private async Task PublishFeedAsync<T>(IEventReader<T> feed, Func<T, string> subject, Func<T, ReadOnlyMemory<byte>> payload, Action published, NatsConnection connection, CancellationToken stopping)
    {
        while (await feed.WaitToReadAsync(CancellationToken.None))
        {
            while (feed.TryRead(out var item))
            {
                await PublishWithRetryAsync(connection, subject(item), payload(item), null, stopping);
                published();
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

    internal static byte[] StatusJson(DerStatus status)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("org", status.Der.Org);
            json.WriteString("site", status.Der.Site);
            json.WriteString("device", status.Der.Device);
            json.WriteString("der", status.Der.Der);
            json.WriteString("type", status.Type.ToWireName());
            json.WriteString("status", status.Status.ToWireName());
            if (status.LastSeen is { } lastSeen)
            {
                json.WriteString("lastSeen", WireTime.Format(lastSeen));
            }

            if (status.Since is { } since)
            {
                json.WriteString("since", WireTime.Format(since));
            }

            if (status.Detail is { } detail)
            {
                json.WriteString("detail", detail);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
