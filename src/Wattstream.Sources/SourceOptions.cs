using System.ComponentModel.DataAnnotations;

namespace Wattstream.Sources;

public enum SourceKind
{
    /// <summary>A whatwatt Go adapter's <c>/api/v1/live</c> SSE stream (Digest or Basic auth).</summary>
    Whatwatt,

    /// <summary>A DER simulator's telemetry WebSocket.</summary>
    DerSim,

    /// <summary>An SSE stream whose events are reading JSON with <c>type</c> (Novacore's <c>/stream/sites/{id}</c>), Bearer token.</summary>
    Sse,

    /// <summary>NATS subjects: Novacore's <c>orgs.….telemetry.json.v1</c> or gateway subjects (<c>Nats/NatsSource</c>).</summary>
    Nats,

    /// <summary>An MQTT broker's topics in a device's own format: Tasmota, Shelly, … (<c>Mqtt/MqttSource</c>).</summary>
    Mqtt,
}

/// <summary>One configured source (<c>Sources:N:…</c> in appsettings.json, environment variables or the command line).</summary>
public sealed class SourceOptions : IValidatableObject
{
    [Required, RegularExpression(@"^[A-Za-z0-9_\-]+$")]
    public string Id { get; set; } = "";

    public SourceKind Kind { get; set; }

    /// <summary>The device's or platform's base URL (whatwatt, dersim) or the stream's URL (sse). No credentials in it.</summary>
    [Required]
    public Uri? Url { get; set; }

    /// <summary>
    /// The whatwatt Web UI password; a nats or mqtt source's password. Prefer an environment variable
    /// (<c>Sources__0__Password</c>) to a file.
    /// </summary>
    [SourceKinds(SourceKind.Whatwatt, SourceKind.Nats, SourceKind.Mqtt)]
    public string? Password { get; set; }

    /// <summary>
    /// How the password may be sent: <c>digest</c> (default; a device that offers only Basic is refused as AUTH_FAILED),
    /// <c>basic</c> (firmware before 1.10) or <c>auto</c> (the first scheme offered, never downgraded to Basic later).
    /// </summary>
    [SourceKinds(SourceKind.Whatwatt)]
    public Http.AuthScheme AuthScheme { get; set; } = Http.AuthScheme.Digest;

    /// <summary>The Bearer token of an sse source; a nats source's server token.</summary>
    [SourceKinds(SourceKind.Sse, SourceKind.Nats)]
    public string? Token { get; set; }

    /// <summary>nats: the user name (with <see cref="Password"/>).</summary>
    [SourceKinds(SourceKind.Nats)]
    public string? User { get; set; }

    /// <summary>nats: a <c>.creds</c> file (user JWT and NKey seed).</summary>
    [SourceKinds(SourceKind.Nats)]
    public string? CredsFile { get; set; }

    /// <summary>nats: an NKey seed file.</summary>
    [SourceKinds(SourceKind.Nats)]
    public string? NKeySeedFile { get; set; }

    /// <summary>
    /// nats: the subject to read, Novacore's <c>orgs.*.sites.*.devices.*.ders.*.telemetry.json.v1</c> (the default) or
    /// gateway subjects <c>gateways.*.devices.*.ders.*.telemetry.json.v1</c>.
    /// </summary>
    [SourceKinds(SourceKind.Nats)]
    public string? Subject { get; set; }

    /// <summary>nats, gateway subjects: each gateway serial's org and site, as "org/site".</summary>
    [SourceKinds(SourceKind.Nats)]
    public Dictionary<string, string> Gateways { get; set; } = [];

    /// <summary>mqtt: the user name the broker knows the hub by (with <see cref="Password"/>).</summary>
    [SourceKinds(SourceKind.Mqtt)]
    public string? Username { get; set; }

    /// <summary>mqtt: the client id; default <c>wattstream-{Id}</c> (a persistent session is found again by it).</summary>
    [SourceKinds(SourceKind.Mqtt)]
    public string? ClientId { get; set; }

    /// <summary>mqtt: the subscriptions' quality of service, 0 (at most once, the default) or 1 (at least once).</summary>
    [SourceKinds(SourceKind.Mqtt), Range(0, 1)]
    public int Qos { get; set; }

    /// <summary>
    /// mqtt: keep the session at the broker while the hub is away (clean session off), so QoS 1 messages published
    /// meanwhile are delivered on reconnect.
    /// </summary>
    [SourceKinds(SourceKind.Mqtt)]
    public bool PersistentSession { get; set; }

    /// <summary>mqtt: the topic filters to subscribe to; default the format's own (<c>tele/+/SENSOR</c> and <c>tele/+/LWT</c> for tasmota).</summary>
    [SourceKinds(SourceKind.Mqtt)]
    public string[] Topics { get; set; } = [];

    /// <summary>mqtt: the payloads' format (<see cref="Mqtt.Formats.MqttFormats.Names"/>: <c>tasmota</c>, <c>shelly-gen2</c>, <c>shelly-gen1</c>, <c>evcc</c>, <c>opendtu</c>, <c>victron</c>, <c>json</c>).</summary>
    [SourceKinds(SourceKind.Mqtt)]
    public string? Format { get; set; }

    /// <summary>
    /// mqtt, <c>Format=victron</c>: the installation's VRM portal id (the <c>N/&lt;portal id&gt;/…</c> of its topics), which
    /// the keepalive is sent to; without it, learnt from the first message of the installation.
    /// </summary>
    [SourceKinds(SourceKind.Mqtt)]
    public string? PortalId { get; set; }

    /// <summary>mqtt, <c>Format=json</c>: which topics make which DER's readings, and where in the payload each value is.</summary>
    [SourceKinds(SourceKind.Mqtt)]
    public List<Mqtt.Formats.JsonMappingOptions> Mappings { get; set; } = [];

    /// <summary>mqtt with <c>mqtts://</c> or <c>wss://</c>: a CA certificate (PEM) to trust for the broker instead of the system's.</summary>
    [SourceKinds(SourceKind.Mqtt)]
    public string? CaFile { get; set; }

    [Required]
    public string Org { get; set; } = "default";

    [Required]
    public string Site { get; set; } = "default";

    /// <summary>Defaults to the source id.</summary>
    public string? Device { get; set; }

    /// <summary>
    /// The DER id: for whatwatt the meter number (default: the source id); for dersim a prefix, "-{device_index}" is
    /// appended; for sse a prefix, "-{type}" is appended.
    /// </summary>
    public string? Der { get; set; }

    /// <summary>dersim: only this device index (server-side filter).</summary>
    [SourceKinds(SourceKind.DerSim)]
    public int? DeviceIndex { get; set; }

    /// <summary>
    /// whatwatt: poll <c>/api/v1/report</c> at this interval instead of reading the live stream (for devices whose SSE
    /// is disabled; the report needs the device's Plus licence).
    /// </summary>
    [SourceKinds(SourceKind.Whatwatt)]
    public TimeSpan? PollReport { get; set; }

    /// <summary>The device's time zone (IANA id) for whatwatt's and Tasmota's local Date/Time; default the machine's.</summary>
    [SourceKinds(SourceKind.Whatwatt, SourceKind.Mqtt)]
    public string? TimeZone { get; set; }

    public string DeviceId => string.IsNullOrEmpty(Device) ? Id : Device;

    public string DerId => string.IsNullOrEmpty(Der) ? Id : Der;

    /// <summary>Checks across settings of one kind (the attributes check each setting alone).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Kind != SourceKind.Mqtt)
        {
            yield break;
        }

        if (Url is not null && !Mqtt.MqttSource.IsBrokerUrl(Url))
        {
            yield return new ValidationResult("Url of an mqtt source must be mqtt://, mqtts://, ws:// or wss:// with a host.", [nameof(Url)]);
        }

        if (!Mqtt.Formats.MqttFormats.IsKnown(Format))
        {
            yield return new ValidationResult($"Format of an mqtt source must be one of {string.Join(", ", Mqtt.Formats.MqttFormats.Names)} (was '{Format}').", [nameof(Format)]);
        }

        var json = string.Equals(Format, Mqtt.Formats.JsonFormat.FormatName, StringComparison.OrdinalIgnoreCase);
        if (json)
        {
            foreach (var error in Mqtt.Formats.JsonFormat.Check(this))
            {
                yield return new ValidationResult(error, [nameof(Mappings)]);
            }
        }
        else if (Mappings.Count > 0)
        {
            yield return new ValidationResult($"Mappings of an mqtt source are for Format={Mqtt.Formats.JsonFormat.FormatName} (Format is '{Format}').", [nameof(Mappings)]);
        }

        if (PortalId is not null && !string.Equals(Format, Mqtt.Formats.VictronFormat.FormatName, StringComparison.OrdinalIgnoreCase))
        {
            yield return new ValidationResult($"PortalId of an mqtt source is for Format={Mqtt.Formats.VictronFormat.FormatName} (Format is '{Format}').", [nameof(PortalId)]);
        }
        else if (PortalId is not null && (!Telemetry.Subjects.IsValidToken(PortalId) || PortalId.Contains(':', StringComparison.Ordinal)))
        {
            yield return new ValidationResult($"PortalId of an mqtt source must be a VRM portal id (letters and digits, e.g. c0619ab12345), not '{PortalId}'.", [nameof(PortalId)]);
        }

        if (Password is not null && Username is null)
        {
            yield return new ValidationResult("Password of an mqtt source needs Username.", [nameof(Password)]);
        }

        if (CaFile is not null && !File.Exists(CaFile))
        {
            yield return new ValidationResult($"CaFile of an mqtt source: no file '{CaFile}'.", [nameof(CaFile)]);
        }

        if (Topics.Any(t => string.IsNullOrWhiteSpace(t) || t.Contains('#', StringComparison.Ordinal) && !t.EndsWith('#')))
        {
            yield return new ValidationResult("Topics of an mqtt source must be MQTT topic filters ('#' only at the end).", [nameof(Topics)]);
        }
    }
}

/// <summary>
/// The kinds a source setting applies to (unmarked: every kind). The settings check refuses a setting on a source of
/// another kind, so a DERSim filter on a whatwatt source is named rather than ignored.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SourceKindsAttribute(params SourceKind[] kinds) : Attribute
{
    public IReadOnlyList<SourceKind> Kinds { get; } = kinds;
}

/// <summary>Timings shared by every source.</summary>
public sealed class SourceTimingOptions
{
    public const string SectionName = "SourceTiming";

    /// <summary>First reconnect delay; it doubles per failed attempt up to <see cref="BackoffCap"/>, with full jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan BackoffCap { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>No event for this long marks the source STALE and reconnects (the devices send no heartbeats).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>An SSE line or WebSocket message larger than this is dropped without being buffered whole.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxEventBytes { get; set; } = 256 * 1024;

    /// <summary>After a rejected password or token, wait this long before trying again (no tight loop).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan AuthFailedRetry { get; set; } = TimeSpan.FromSeconds(60);
}
