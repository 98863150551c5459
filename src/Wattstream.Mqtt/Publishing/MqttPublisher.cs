using System.Collections.Concurrent;
using System.Net.Security;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Tls;

namespace Wattstream.Mqtt.Publishing;

/// <summary>What the MQTT publisher is doing, for its log and tests.</summary>
/// <param name="Dropped">Readings and summaries dropped because the broker was away or slower than the hub.</param>
public sealed record MqttPublishStatus(bool Connected, long Published, long Dropped, long Failed);

/// <summary>
/// One more subscriber of the hub, like the NATS publisher: each reading of the chosen orgs goes to
/// <c>{prefix}/{org}/{site}/{der}/state</c> as the Novacore reading JSON (the bytes the hub already encoded for its
/// Novacore clients), each site summary to <c>{prefix}/{org}/{site}/summary</c>, and the first time a DER (or site)
/// shows a sensor, its retained Home Assistant discovery message goes out before its state. The broker connection
/// carries a retained last will <c>offline</c> on <c>{prefix}/status</c>, which reads <c>online</c> while the hub runs and
/// <c>offline</c> after a graceful stop, so Home Assistant shows the sensors unavailable however the hub ended.
/// The hub never waits for the broker: the publisher reads its own drop-oldest queues (drops counted), and while the
/// broker is away it reconnects with backoff and goes on from what its queues still hold.
/// </summary>
public sealed class MqttPublisher : IHostedService, IAsyncDisposable
{
    private static readonly byte[] OnlinePayload = Encoding.ASCII.GetBytes(HomeAssistantDiscovery.Online);
    private static readonly byte[] OfflinePayload = Encoding.ASCII.GetBytes(HomeAssistantDiscovery.Offline);

    private readonly MqttPublishOptions _options;
    private readonly TelemetryHub _hub;
    private readonly PayloadFormat _stateFormat;
    private readonly IFeed? _summaries;
    private readonly ILogger _log;
    private readonly HomeAssistantDiscovery _discovery;
    private readonly HashSet<string>? _orgs;
    private readonly IMqttClient _client;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<DerAddress, Announced> _ders = new();
    private readonly ConcurrentDictionary<(string Org, string Site), Announced> _sites = new();
    private readonly PrivateCa? _ca;
    private readonly List<HubSubscription> _readings = [];
    private readonly Backoff _backoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30));
    private IFeedMessages? _summaryMessages;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _connection = Task.CompletedTask;
    private Task _pumps = Task.CompletedTask;
    private long _generation; // grows with every connection: what a new connection has not announced yet goes out again
    private long _published;
    private long _failed;
    private int _disposed;

    /// <param name="summaries">The site summaries' feed (for each site's self-sufficiency); null for none.</param>
    public MqttPublisher(IOptions<MqttPublishOptions> options, TelemetryHub hub, PayloadFormats formats, IFeed? summaries, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(formats);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value;
        _hub = hub;
        _stateFormat = formats.Find(Telemetry.Formats.NovacoreReading.FormatName)
            ?? throw new InvalidOperationException("MQTT publishing needs the Novacore payload format (the state JSON).");
        _summaries = summaries;
        _log = loggers.CreateLogger<MqttPublisher>();
        _discovery = new HomeAssistantDiscovery(_options.Prefix, _options.DiscoveryPrefix);
        _orgs = _options.PublishesEveryOrg ? null : new HashSet<string>(_options.Orgs, StringComparer.Ordinal);
        _ca = PrivateCa.FromPemFile(_options.CaFile);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += _ =>
        {
            // Publishes wait for the next connection from now on.
            if (Volatile.Read(ref _connected).Task.IsCompleted)
            {
                Volatile.Write(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            Volatile.Read(ref _disconnected).TrySetResult();
            return Task.CompletedTask;
        };
    }

    public MqttPublishStatus Status => new(
        _client.IsConnected,
        Interlocked.Read(ref _published),
        _readings.Sum(q => q.Dropped) + (_summaryMessages?.Dropped ?? 0),
        Interlocked.Read(ref _failed));

    /// <summary>The broker as logged: scheme, host and port, never credentials.</summary>
    private string SafeUrl => _options.Url!.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribed before any source starts, so the first reading is published too; an org not chosen never reaches
        // this publisher's queues.
        var patterns = _orgs is null ? [SubjectPattern.All] : _orgs.Select(o => SubjectPattern.Parse($"orgs.{o}.>"));
        foreach (var pattern in patterns)
        {
            _readings.Add(_hub.Subscribe(pattern, new SubscribeOptions { QueueCapacity = _options.QueueCapacity }));
        }

        _summaryMessages = _summaries?.OpenPublication(Math.Min(_options.QueueCapacity, 4096));
        _connection = Task.Run(() => KeepConnectedAsync(_stopping.Token), CancellationToken.None);
        var pumps = _readings.Select(q => Task.Run(() => PublishReadingsAsync(q, _stopping.Token), CancellationToken.None)).ToList();
        if (_summaryMessages is { } summaries)
        {
            pumps.Add(Task.Run(() => PublishSummariesAsync(summaries, _stopping.Token), CancellationToken.None));
        }

        _pumps = Task.WhenAll(pumps);
        _log.LogInformation(
            "MQTT: publishing {Orgs} to {Url} under {Prefix}/, Home Assistant discovery under {DiscoveryPrefix}/",
            _orgs is null ? "every org" : $"the orgs {string.Join(", ", _orgs)}",
            SafeUrl,
            _options.Prefix,
            _options.DiscoveryPrefix);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var queue in _readings)
        {
            queue.Dispose(); // the pumps send what is queued, then end
        }

        _summaryMessages?.Dispose();
        await Task.WhenAny(_pumps, Task.Delay(TimeSpan.FromSeconds(5), cancellationToken));
        await _stopping.CancelAsync();
        await Task.WhenAny(_connection, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
        if (_client.IsConnected)
        {
            try
            {
                // A graceful stop says so itself: a normal disconnect makes the broker discard the last will.
                using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.PublishAsync(Message(_discovery.StatusTopic, OfflinePayload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), bye.Token);
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), bye.Token);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                _log.LogWarning("MQTT: could not say offline at {Url} ({Error}); the broker sends the last will instead", SafeUrl, e.GetType().Name);
            }
        }

        var status = Status;
        _log.LogInformation("MQTT: stopped; {Published} messages published, {Dropped} dropped, {Failed} refused", status.Published, status.Dropped, status.Failed);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the container disposes it as a singleton and as the hosted service it also is
        }

        await _stopping.CancelAsync();
        _client.Dispose();
        _ca?.Dispose();
        _stopping.Dispose();
    }

    // Connects, says online, waits for the connection to end, and again, with backoff, until the hub stops.
    private async Task KeepConnectedAsync(CancellationToken stopping)
    {
        var attempt = 0;
        while (!stopping.IsCancellationRequested)
        {
            var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _disconnected, disconnected);
            try
            {
                var result = await _client.ConnectAsync(ClientOptions(), stopping);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new MqttRefusedException(result.ResultCode.ToString());
                }

                await _client.PublishAsync(Message(_discovery.StatusTopic, OnlinePayload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), stopping);
                Interlocked.Increment(ref _generation);
                _log.LogInformation("MQTT: connected to {Url}", SafeUrl);
                attempt = 0;
                Volatile.Read(ref _connected).TrySetResult();
                await disconnected.Task.WaitAsync(stopping);
                _log.LogWarning("MQTT: disconnected from {Url}; reconnecting", SafeUrl);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or MqttRefusedException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
            {
                // MQTTnet's connect exception says what the broker answered (e.g. BadUserNameOrPassword); never the credentials.
                _log.LogWarning("MQTT: cannot connect to {Url}: {Error}", SafeUrl, e is MqttRefusedException ? e.Message : e.GetType().Name + ": " + e.Message);
            }

            var delay = _backoff.Delay(attempt++);
            try
            {
                await Task.Delay(delay, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task PublishReadingsAsync(HubSubscription queue, CancellationToken stopping)
    {
        try
        {
            while (await queue.WaitToReadAsync(CancellationToken.None))
            {
                while (queue.TryRead(out var hubEvent))
                {
                    await PublishReadingAsync(hubEvent, stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task PublishReadingAsync(HubEvent hubEvent, CancellationToken stopping)
    {
        var reading = hubEvent.Reading;
        var der = reading.Der;
        var announced = _ders.GetOrAdd(der, static (d, discovery) => new Announced(discovery.StateTopic(d)), _discovery);
        var carried = HomeAssistantDiscovery.SensorsCarried(reading);
        var generation = Interlocked.Read(ref _generation);
        if (announced.Generation != generation || (carried & ~announced.Sensors) != 0 || announced.Type != reading.Type)
        {
            // What this connection has not announced yet (a new DER, a sensor it had not carried, a broker that
            // forgot nothing but a hub that reconnected): its retained configs, before its first state.
            var sensors = announced.Generation == generation && announced.Type == reading.Type ? carried | announced.Sensors : carried;
            foreach (var (topic, payload) in _discovery.DerConfigs(der, reading.Type, sensors))
            {
                await PublishAsync(Message(topic, payload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), stopping);
            }

            announced.Sensors = sensors;
            announced.Type = reading.Type;
            announced.Generation = generation;
        }

        await PublishAsync(Message(announced.StateTopic, hubEvent.GetEncoded(_stateFormat), retain: true, MqttQualityOfServiceLevel.AtMostOnce), stopping);
    }

    private async Task PublishSummariesAsync(IFeedMessages summaries, CancellationToken stopping)
    {
        try
        {
            while (await summaries.WaitToReadAsync())
            {
                while (summaries.TryRead(out var message))
                {
                    // orgs.{org}.sites.{site}.summary.json.v1
                    var tokens = message.Subject.Split('.');
                    if (tokens.Length < 4 || (_orgs is not null && !_orgs.Contains(tokens[1])))
                    {
                        continue;
                    }

                    var (org, site) = (tokens[1], tokens[3]);
                    var generation = Interlocked.Read(ref _generation);
                    var announced = _sites.GetOrAdd((org, site), static (s, discovery) => new Announced(discovery.SummaryTopic(s.Org, s.Site)), _discovery);
                    if (announced.Generation != generation)
                    {
                        var (topic, payload) = _discovery.SiteConfig(org, site);
                        await PublishAsync(Message(topic, payload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), stopping);
                        announced.Generation = generation;
                    }

                    await PublishAsync(Message(announced.StateTopic, message.Payload, retain: true, MqttQualityOfServiceLevel.AtMostOnce), stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    // Waits for a connection, then publishes; a publish that fails because the connection went is tried again on the
    // next one (nothing queued is skipped), one the broker refuses on an open connection is counted and skipped.
    private async Task PublishAsync(MqttApplicationMessage message, CancellationToken stopping)
    {
        while (true)
        {
            await Volatile.Read(ref _connected).Task.WaitAsync(stopping);
            try
            {
                var result = await _client.PublishAsync(message, stopping);
                if (!result.IsSuccess)
                {
                    Interlocked.Increment(ref _failed);
                    _log.LogWarning("MQTT: the broker refused a publish on {Topic}: {Reason}; skipped", message.Topic, result.ReasonCode);
                }
                else
                {
                    Interlocked.Increment(ref _published);
                }

                return;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException && !stopping.IsCancellationRequested)
            {
                // Not connected (any more): the next connection comes after a pause at least, so this loop never spins.
                await Task.Delay(100, stopping);
            }
        }
    }

    private static MqttApplicationMessage Message(string topic, ReadOnlyMemory<byte> payload, bool retain, MqttQualityOfServiceLevel qos) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new System.Buffers.ReadOnlySequence<byte>(payload))
            .WithRetainFlag(retain)
            .WithQualityOfServiceLevel(qos)
            .Build();

    private MqttClientOptions ClientOptions()
    {
        var url = _options.Url!;
        var secure = url.Scheme == "mqtts";
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(_options.ClientId ?? $"wattstream-{Environment.MachineName}-{Environment.ProcessId}")
            .WithTcpServer(url.Host, url.Port > 0 ? url.Port : secure ? 8883 : 1883)
            .WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(_discovery.StatusTopic)
            .WithWillPayload(OfflinePayload)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_options.Username is { } username)
        {
            builder.WithCredentials(username, _options.Password);
        }

        if (secure)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls();
                if (_ca is not null)
                {
                    tls.WithCertificateValidationHandler(e => _ca.Trusts(e.Certificate, e.SslPolicyErrors));
                }
            });
        }

        return builder.Build();
    }

    // What was announced for a DER or site on which connection; touched by the one pump of its org.
    private sealed class Announced(string stateTopic)
    {
        public string StateTopic { get; } = stateTopic;

        public int Sensors { get; set; }

        public DerType Type { get; set; }

        public long Generation { get; set; }
    }

    private sealed class MqttRefusedException(string reason) : Exception($"the broker refused the connection: {reason}");
}
