using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Sources;
using Wattstream.Telemetry;

namespace Wattstream.Mqtt.Broker;

/// <summary>
/// The embedded MQTT broker (<c>Mqtt:Listen</c>, MQTTnet's server): devices log in with their own credentials
/// (<c>Mqtt:Devices:N</c>), publish under their own topics only, and each message is read as the mqtt source reads
/// one, into the device's org and site. It forwards nothing between clients and keeps no retained messages: the hub is
/// the one reader, so no device can read another's messages whatever it subscribes to, and subscriptions outside a
/// device's own topics are refused.
/// </summary>
/// <remarks>
/// One connection per device: a second login with the same credentials replaces the first (a device that rebooted
/// must not wait for its old half-open connection to time out), and the replaced connection's messages, its last will
/// included, are dropped. Anonymous logins are never accepted.
/// </remarks>
public sealed class MqttBroker : IHostedService, IAsyncDisposable
{
    private readonly MqttBrokerOptions _options;
    private readonly Dictionary<string, BrokerDevice> _devices;
    private readonly ILogger _log;
    private readonly RateLimitedLog _faults;
    private readonly TimeProvider _time;
    private readonly X509Certificate2? _certificate;
    private readonly BrokerListener _listener;
    private readonly MqttServer _server;

    public MqttBroker(IOptions<MqttBrokerOptions> options, TelemetryHub hub, StatusBoard statuses, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value;
        _time = time;
        _log = loggers.CreateLogger<MqttBroker>();
        _faults = new RateLimitedLog(_log, time, TimeSpan.FromMinutes(1));
        _devices = _options.Devices.ToDictionary(d => d.Username, d => new BrokerDevice(d, _options, hub, statuses, time, _log), StringComparer.Ordinal);
        _certificate = _options.IsTls ? LoadCertificate(_options.Certificate) : null;
        _listener = new BrokerListener(_options.Endpoint(), _certificate, _options.MaxConnectionsPerAddress, _options.MaxMessageBytes + 4096, Counters, _log, time);
        var serverOptions = new MqttServerOptionsBuilder().WithDefaultCommunicationTimeout(TimeSpan.FromSeconds(10)).Build();
        _server = new MqttServerFactory().CreateMqttServer(serverOptions, [_listener], new MqttNetNullLogger());
        _server.ValidatingConnectionAsync += ValidatingAsync;
        _server.ClientConnectedAsync += e =>
        {
            Find(e.UserName)?.Connected(e.ClientId);
            return Task.CompletedTask;
        };
        _server.ClientDisconnectedAsync += e =>
        {
            if (e.DisconnectType != MqttClientDisconnectType.Takeover)
            {
                Find(e.UserName)?.Disconnected(e.ClientId, e.DisconnectType == MqttClientDisconnectType.Clean ? "the device disconnected" : "the device's connection was lost");
            }

            return Task.CompletedTask;
        };
        _server.InterceptingPublishAsync += InterceptingPublishAsync;
        _server.InterceptingSubscriptionAsync += InterceptingSubscriptionAsync;
    }

    public IReadOnlyCollection<BrokerDevice> Devices => _devices.Values;

    public BrokerCounters Counters { get; } = new();

    /// <summary>Where the broker listens, once started (the port the system chose for port 0).</summary>
    public System.Net.IPEndPoint? Endpoint => _listener.Bound;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _server.StartAsync();
        _log.LogInformation("MQTT broker for {Count} devices listening on {Scheme}://{Endpoint}", _devices.Count, _options.Listen!.Scheme, _listener.Bound);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server.IsStarted)
        {
            await _server.StopAsync(new MqttServerStopOptions());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _server.Dispose();
        _certificate?.Dispose();
    }

    /// <summary>Each device as <c>/api/sources</c> shows a source (kind <c>mqtt-device</c>, its user name as id); owner: this node while the device is connected here.</summary>
    public IEnumerable<SourceStatus> Statuses(string node) => _devices.Values.Select(d => new SourceStatus(
        d.Options.Username,
        "mqtt-device",
        d.State.SafeUrl,
        d.State.Status.ToWireName(),
        d.State.LastSeen,
        d.State.LastError,
        d.State.Events,
        d.State.Bytes,
        d.State.Rejected,
        d.State.Reconnects,
        [.. d.Ders.Select(x => x.Address.Subject)],
        0,
        null) { Owner = d.ClientId is null ? null : node });

    private BrokerDevice? Find(string? username) => username is not null && _devices.TryGetValue(username, out var device) ? device : null;

    private Task ValidatingAsync(ValidatingConnectionEventArgs e)
    {
        var device = Find(e.UserName);
        var accepted = device?.Verifies(e.RawPassword) ?? BrokerDevice.VerifiesNone(e.RawPassword);
        if (!accepted || device is null)
        {
            e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            Counters.LoginRefused();
            var who = string.IsNullOrEmpty(e.UserName) ? "no user name" : device is null ? $"the unknown user name '{Excerpt.Of(e.UserName, 120)}'" : $"a wrong password for {e.UserName}";
            _faults.Warn("login", $"MQTT broker: refused a login from {e.RemoteEndPoint} with {who}");
            return Task.CompletedTask;
        }

        if (string.IsNullOrEmpty(e.ClientId))
        {
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid; // before it could replace the device's connection
            return Task.CompletedTask;
        }

        if (device.LoggedIn(e.ClientId) is { } replaced)
        {
            // After MQTTnet has made the new connection the device's; the old one closes without its last will counting.
            _ = Task.Run(async () =>
            {
                try
                {
                    await _server.DisconnectClientAsync(replaced, new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.SessionTakenOver });
                }
                catch (Exception x) when (x is InvalidOperationException or ObjectDisposedException or IOException)
                {
                    // It went by itself.
                }
            });
            _log.LogInformation("MQTT device {Device} logged in again: its earlier connection is closed", device.Options.Username);
        }

        return Task.CompletedTask;
    }

    private Task InterceptingPublishAsync(InterceptingPublishEventArgs e)
    {
        e.ProcessPublish = false; // the hub is the only reader: nothing is forwarded or retained
        if (Find(e.UserName) is not { } device || !device.IsCurrent(e.ClientId))
        {
            return Task.CompletedTask; // a replaced connection, or its last will
        }

        var verdict = device.Receive(e.ApplicationMessage);
        e.Response.ReasonCode = verdict switch
        {
            PublishVerdict.Refused => MqttPubAckReasonCode.NotAuthorized,
            PublishVerdict.RateLimited => MqttPubAckReasonCode.QuotaExceeded,
            _ => MqttPubAckReasonCode.Success,
        };
        return Task.CompletedTask;
    }

    private Task InterceptingSubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        var device = Find(e.UserName);
        if (device is not null && device.Scope.Contains(e.TopicFilter.Topic))
        {
            return Task.CompletedTask;
        }

        e.ProcessSubscription = false;
        e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        device?.SubscriptionRefused(e.TopicFilter.Topic);
        return Task.CompletedTask;
    }

    private static X509Certificate2 LoadCertificate(MqttCertificateOptions certificate)
    {
        var path = certificate.Path!;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, certificate.Password);
        }

        var keyPath = string.IsNullOrEmpty(certificate.KeyPath) ? path : certificate.KeyPath;
        return string.IsNullOrEmpty(certificate.Password)
            ? X509Certificate2.CreateFromPemFile(path, keyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(path, certificate.Password, keyPath);
    }
}
