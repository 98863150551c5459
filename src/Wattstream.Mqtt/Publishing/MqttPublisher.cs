using System.Collections.Concurrent;
using System.Net.Security;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;
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
/// carries a retained last will <c>offline</c> on <c>{prefix}/status</c>, which reads <c>online</c> while the hub publishes
/// and <c>offline</c> after a graceful stop, so Home Assistant shows the sensors unavailable however the hub ended.
/// The hub never waits for the broker: the publisher reads its own drop-oldest queues (drops counted), and while the
/// broker is away it reconnects with backoff and goes on from what its queues still hold.
/// </summary>
/// <remarks>
/// Publishing is a job (<see cref="JobKey"/>): one node of a cluster publishes for all (every node holds every reading),
/// so the broker sees one connection, one status topic and each state once. A node taking the job over starts from the
/// hub's present (each DER's last value, each site's summary) and announces every discovery config again on its own
/// connection; the node it took over from said <c>offline</c> and left before the lease moved.
/// </remarks>
public sealed partial class MqttPublisher : IHostedService, IAsyncDisposable
{
    /// <summary>The job's key: the node holding it publishes for the cluster.</summary>
    public const string JobKey = "publish:mqtt";

    private static readonly byte[] OnlinePayload = Encoding.ASCII.GetBytes(HomeAssistantDiscovery.Online);
    private static readonly byte[] OfflinePayload = Encoding.ASCII.GetBytes(HomeAssistantDiscovery.Offline);

    private readonly MqttPublishOptions _options;
    private readonly TelemetryHub _hub;
    private readonly IJobOwnership _jobs;
    private readonly PayloadFormat _stateFormat;
    private readonly IFeed? _summaries;
    private readonly ILogger _log;
    private readonly HomeAssistantDiscovery _discovery;
    private readonly HashSet<string>? _orgs;
    private readonly PrivateCa? _ca;
    private readonly Backoff _backoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30));
    private IAsyncDisposable? _job;
    private Turn? _turn;
    private long _published;
    private long _failed;
    private long _droppedBefore; // by turns that ended
    private int _disposed;

    /// <param name="summaries">The site summaries' feed (for each site's self-sufficiency); null for none.</param>
    /// <param name="jobs">Who publishes: this node always (one node), or the node holding <see cref="JobKey"/>.</param>
    public MqttPublisher(IOptions<MqttPublishOptions> options, TelemetryHub hub, PayloadFormats formats, IFeed? summaries, IJobOwnership jobs, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(formats);
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value;
        _hub = hub;
        _jobs = jobs;
        _stateFormat = formats.Find(Telemetry.Formats.NovacoreReading.FormatName)
            ?? throw new InvalidOperationException("MQTT publishing needs the Novacore payload format (the state JSON).");
        _summaries = summaries;
        _log = loggers.CreateLogger<MqttPublisher>();
        _discovery = new HomeAssistantDiscovery(_options.Prefix, _options.DiscoveryPrefix);
        _orgs = _options.PublishesEveryOrg ? null : new HashSet<string>(_options.Orgs, StringComparer.Ordinal);
        _ca = PrivateCa.FromPemFile(_options.CaFile);
    }

    public MqttPublishStatus Status
    {
        get
        {
            var turn = Volatile.Read(ref _turn);
            return new(
                turn?.Connected ?? false,
                Interlocked.Read(ref _published),
                Interlocked.Read(ref _droppedBefore) + (turn?.Dropped ?? 0),
                Interlocked.Read(ref _failed));
        }
    }

    /// <summary>The broker as logged: scheme, host and port, never credentials.</summary>
    private string SafeUrl => _options.Url!.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _job = await _jobs.RunWhileOwnedAsync(JobKey, PublishWhileOwnedAsync, cancellationToken);
        _log.LogInformation(
            "MQTT: publishing {Orgs} to {Url} under {Prefix}/, Home Assistant discovery under {DiscoveryPrefix}/, while this node holds the job {Job}",
            _orgs is null ? "every org" : $"the orgs {string.Join(", ", _orgs)}",
            SafeUrl,
            _options.Prefix,
            _options.DiscoveryPrefix,
            JobKey);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_job is { } job)
        {
            await job.DisposeAsync(); // the turn says offline and leaves; a cluster's next holder takes over at once
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

        if (_job is { } job)
        {
            await job.DisposeAsync();
        }

        _ca?.Dispose();
    }

    // One node's turn at publishing: from the hub's present, until the lease ends (moved, lost, or this node stops). A
    // lease that ends stops publishing at once (no job runs without its lease); what was still queued is the next
    // holder's present.
    private async Task PublishWhileOwnedAsync(CancellationToken owned)
    {
        var turn = new Turn(this);
        Volatile.Write(ref _turn, turn);
        try
        {
            await turn.RunAsync(owned);
        }
        finally
        {
            Interlocked.Add(ref _droppedBefore, turn.Dropped);
            Interlocked.CompareExchange(ref _turn, null, turn);
            turn.Dispose();
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
