using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using MQTTnet;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Mqtt.Broker;

/// <summary>
/// One configured device of the embedded broker: its login, its topics, its publish allowance, and its messages read
/// by the same <see cref="MqttMessageReader"/> as an mqtt source's, into its own org and site. It keeps the counters
/// and status a source keeps (<see cref="SourceState"/>), so <c>/api/sources</c> lists it beside the sources.
/// </summary>
public sealed class BrokerDevice : IMqttReadingTarget
{
    private readonly byte[] _passwordHash;
    private readonly TelemetryHub _hub;
    private readonly StatusBoard _statuses;
    private readonly TimeProvider _time;
    private readonly RateLimitedLog _faults;
    private readonly TokenBucket _allowance;
    private readonly MqttMessageReader _reader;
    private readonly HashSet<(DerAddress, DerType)> _ders = [];
    private readonly Lock _gate = new();
    private string? _clientId;
    private long _refusedPublishes;
    private long _refusedSubscriptions;
    private long _rateLimited;

    internal BrokerDevice(MqttDeviceOptions options, MqttBrokerOptions broker, TelemetryHub hub, StatusBoard statuses, TimeProvider time, ILogger log)
    {
        Options = options;
        _hub = hub;
        _statuses = statuses;
        _time = time;
        _faults = new RateLimitedLog(log, time, TimeSpan.FromMinutes(1));
        _passwordHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.Password));
        _allowance = new TokenBucket(broker.PublishesPerSecond, broker.PublishBurst, time);

        // The source's own settings make the format's addressing, so a device names its DERs exactly as an mqtt source would.
        var asSource = new SourceOptions
        {
            Id = options.Username,
            Kind = SourceKind.Mqtt,
            Url = broker.Listen,
            Format = options.Format,
            Org = options.Org,
            Site = options.Site,
            Device = options.Device,
            Der = options.Der,
            TimeZone = options.TimeZone,
        };
        State = new SourceState(asSource) { Status = ConnectionStatus.Disconnected };
        var format = MqttFormats.Create(options.Format, new MqttAddressing(asSource));
        _reader = new MqttMessageReader(format, this, broker.MaxMessageBytes);
        Scope = options.Topics.Length > 0 ? new TopicScope(options.Topics) : TopicScope.Default(format.DefaultTopics, options.OwnTopicName);
    }

    public MqttDeviceOptions Options { get; }

    public TopicScope Scope { get; }

    public SourceState State { get; }

    /// <summary>The client id of the device's connection now; null while it is not connected.</summary>
    public string? ClientId
    {
        get
        {
            lock (_gate)
            {
                return _clientId;
            }
        }
    }

    public long RefusedPublishes => Interlocked.Read(ref _refusedPublishes);

    public long RefusedSubscriptions => Interlocked.Read(ref _refusedSubscriptions);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public IReadOnlyList<(DerAddress Address, DerType Type)> Ders
    {
        get
        {
            lock (_gate)
            {
                return [.. _ders];
            }
        }
    }

    // What a login of an unknown user name is checked against, so that it takes as long as a known one's.
    private static readonly byte[] Decoy = SHA256.HashData(RandomNumberGenerator.GetBytes(32));

    /// <summary>The password's check, in constant time (both sides hashed first, so their lengths tell nothing either).</summary>
    public bool Verifies(byte[]? password) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(password ?? []), _passwordHash);

    /// <summary>The same work as <see cref="Verifies"/> for a user name no device has; always false.</summary>
    public static bool VerifiesNone(byte[]? password) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(password ?? []), Decoy) && false;

    /// <summary>A login succeeded: this connection is the device's from now on, and the one before (if another) is returned to be closed.</summary>
    internal string? LoggedIn(string clientId)
    {
        lock (_gate)
        {
            var before = _clientId;
            _clientId = clientId;
            return before == clientId ? null : before;
        }
    }

    internal bool IsCurrent(string clientId)
    {
        lock (_gate)
        {
            return _clientId == clientId;
        }
    }

    internal void Connected(string clientId)
    {
        if (IsCurrent(clientId))
        {
            State.Connected();
            SetStatus(ConnectionStatus.Connected, null);
        }
    }

    /// <summary>The connection ended; only the device's current one changes its status (a replaced one ends quietly).</summary>
    internal void Disconnected(string clientId, string why)
    {
        lock (_gate)
        {
            if (_clientId != clientId)
            {
                return;
            }

            _clientId = null;
        }

        State.Reconnected();
        SetStatus(ConnectionStatus.Disconnected, why);
    }

    /// <summary>
    /// A message the device published: outside its topics it is refused, beyond its allowance dropped, and otherwise
    /// read as an mqtt source reads a live one (a device's retain flag asks a broker to keep the message; this broker
    /// keeps nothing, and the message is live).
    /// </summary>
    internal PublishVerdict Receive(MqttApplicationMessage message)
    {
        if (!Scope.Allows(message.Topic))
        {
            Interlocked.Increment(ref _refusedPublishes);
            Reject("refused_publish", $"refused a publish on {Excerpt.Of(message.Topic, 120)}: outside its topics ({string.Join(", ", Scope.Filters)})");
            return PublishVerdict.Refused;
        }

        if (!_allowance.TryTake())
        {
            Interlocked.Increment(ref _rateLimited);
            Reject("rate_limited", $"dropped a message on {Excerpt.Of(message.Topic, 120)}: beyond its publish rate (Mqtt:PublishesPerSecond, Mqtt:PublishBurst)");
            return PublishVerdict.RateLimited;
        }

        var now = _time.GetUtcNow();
        State.Event(now);
        State.AddBytes(message.Payload.Length);
        _reader.Receive(message, retained: false, now);
        return PublishVerdict.Read;
    }

    internal void SubscriptionRefused(string filter)
    {
        Interlocked.Increment(ref _refusedSubscriptions);
        Reject("refused_subscription", $"refused a subscription to {Excerpt.Of(filter, 120)}: outside its topics ({string.Join(", ", Scope.Filters)})");
    }

    private void SetStatus(ConnectionStatus status, string? error)
    {
        State.Status = status;
        if (error is not null)
        {
            State.LastError = error;
        }

        foreach (var (der, type) in Ders)
        {
            _statuses.Set(der, type, status, status == ConnectionStatus.Connected ? null : error);
        }
    }

    private void Declare(DerAddress der, DerType type)
    {
        lock (_gate)
        {
            _ders.Add((der, type));
        }
    }

    void IMqttReadingTarget.Publish(Reading reading)
    {
        Declare(reading.Der, reading.Type);
        _hub.Publish(reading);
    }

    void IMqttReadingTarget.Availability(MqttAvailability availability)
    {
        foreach (var (der, type) in availability.Ders)
        {
            Declare(der, type);
            _statuses.Set(der, type, availability.Online ? ConnectionStatus.Connected : ConnectionStatus.Disconnected, availability.Online ? null : "the device is offline (its last will)");
        }
    }

    void IMqttReadingTarget.Reject(string kind, string message) => Reject(kind, message);

    private void Reject(string kind, string message)
    {
        State.Reject();
        _faults.Warn(kind, $"MQTT device {Options.Username}: {message}");
    }
}

internal enum PublishVerdict
{
    Read,
    Refused,
    RateLimited,
}
