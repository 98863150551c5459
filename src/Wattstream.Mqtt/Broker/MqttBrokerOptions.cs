using System.ComponentModel.DataAnnotations;
using System.Net;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Mqtt.Broker;

/// <summary>
/// The embedded MQTT broker for devices (section <c>Mqtt</c>: <c>Mqtt:Listen</c>, <c>Mqtt:Certificate</c>,
/// <c>Mqtt:Devices:N:…</c> and the limits). Without <see cref="Listen"/> no broker code runs.
/// </summary>
public sealed class MqttBrokerOptions : IValidatableObject
{
    public const string SectionName = "Mqtt";

    /// <summary>Where devices connect: <c>mqtt://127.0.0.1:1883</c>, or <c>mqtts://0.0.0.0:8883</c> with <see cref="Certificate"/>.</summary>
    public Uri? Listen { get; set; }

    /// <summary>The server certificate of an <c>mqtts://</c> listener, as Kestrel's (<c>Path</c>, <c>KeyPath</c>, <c>Password</c>).</summary>
    public MqttCertificateOptions Certificate { get; set; } = new();

    /// <summary>Each device's login and where its readings go; a login that matches none is refused.</summary>
    public List<MqttDeviceOptions> Devices { get; set; } = [];

    /// <summary>Open connections from one remote address; more are closed before anything is read.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerAddress { get; set; } = 16;

    /// <summary>The largest payload a device may publish; a packet larger than this plus 4 KiB closes its connection before it is read.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Each device's sustained publish rate (messages per second); beyond it and its burst, messages are dropped and counted.</summary>
    [Range(0.001, 1_000_000)]
    public double PublishesPerSecond { get; set; } = 10;

    /// <summary>How many messages a device may publish at once before <see cref="PublishesPerSecond"/> applies.</summary>
    [Range(1, 1_000_000)]
    public int PublishBurst { get; set; } = 100;

    public bool Enabled => Listen is not null;

    public bool IsTls => Listen?.Scheme == "mqtts";

    /// <summary>The address and port to bind (1883 for <c>mqtt://</c>, 8883 for <c>mqtts://</c> when none is given).</summary>
    public IPEndPoint Endpoint()
    {
        var listen = Listen ?? throw new InvalidOperationException("Mqtt:Listen is not set.");
        var host = listen.Host.Trim('[', ']');
        var address = host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        return new IPEndPoint(address, listen.IsDefaultPort || listen.Port < 0 ? (IsTls ? 8883 : 1883) : listen.Port);
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Listen is { } listen)
        {
            var host = listen.IsAbsoluteUri ? listen.Host.Trim('[', ']') : "";
            if (!listen.IsAbsoluteUri || listen.Scheme is not ("mqtt" or "mqtts") || (host != "localhost" && !IPAddress.TryParse(host, out _)))
            {
                yield return new ValidationResult("must be mqtt://ADDRESS[:port] or mqtts://ADDRESS[:port] with an IP address (0.0.0.0 for every IPv4 address, [::] for every address) or localhost.", [nameof(Listen)]);
            }
            else if (!string.IsNullOrEmpty(listen.UserInfo) || listen.AbsolutePath.Length > 1)
            {
                yield return new ValidationResult("must hold only the scheme, address and port: devices' credentials are Mqtt:Devices:N:Username and Password.", [nameof(Listen)]);
            }

            if (listen.IsAbsoluteUri && listen.Scheme == "mqtts" && string.IsNullOrEmpty(Certificate.Path))
            {
                yield return new ValidationResult("an mqtts:// listener needs Mqtt:Certificate:Path (and KeyPath, unless the file holds the key).", [nameof(Listen)]);
            }
        }

        if (!string.IsNullOrEmpty(Certificate.Path) && Listen?.Scheme != "mqtts")
        {
            yield return new ValidationResult("applies to an mqtts:// Mqtt:Listen only.", ["Certificate"]);
        }

        foreach (var (name, file) in new[] { ("Certificate:Path", Certificate.Path), ("Certificate:KeyPath", Certificate.KeyPath) })
        {
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
            {
                yield return new ValidationResult($"no file '{file}'.", [name]);
            }
        }

        var users = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Devices.Count; i++)
        {
            var device = Devices[i];
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(device, new ValidationContext(device), results, validateAllProperties: true);
            foreach (var result in results)
            {
                yield return new ValidationResult(result.ErrorMessage, result.MemberNames.Select(m => $"Devices:{i}:{m}").DefaultIfEmpty($"Devices:{i}").ToArray());
            }

            if (!string.IsNullOrEmpty(device.Username) && !users.Add(device.Username))
            {
                yield return new ValidationResult($"two devices log in as '{device.Username}': each device needs a user name of its own.", [$"Devices:{i}:Username"]);
            }
        }
    }
}

/// <summary>A certificate file and its key, as Kestrel's <c>Certificates:Default</c> takes them.</summary>
public sealed class MqttCertificateOptions
{
    /// <summary>A PEM certificate (chain), or a PKCS#12 file.</summary>
    public string? Path { get; set; }

    /// <summary>The PEM private key, when not in <see cref="Path"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The key's or PKCS#12 file's password; prefer the environment (<c>Mqtt__Certificate__Password</c>). Never logged.</summary>
    public string? Password { get; set; }
}

/// <summary>One device that logs in to the embedded broker (<c>Mqtt:Devices:N:…</c>): its credentials, format and place.</summary>
public sealed class MqttDeviceOptions : IValidatableObject
{
    /// <summary>The user name the device logs in with; it names the device in logs and <c>/api/sources</c>.</summary>
    [Required]
    public string Username { get; set; } = "";

    /// <summary>Never logged; prefer the environment (<c>Mqtt__Devices__0__Password</c>).</summary>
    [Required]
    public string Password { get; set; } = "";

    [Required]
    public string Org { get; set; } = "";

    [Required]
    public string Site { get; set; } = "";

    /// <summary>The payloads' format, as an mqtt source's (<c>tasmota</c>, <c>shelly-gen2</c>, …).</summary>
    [Required]
    public string Format { get; set; } = "";

    /// <summary>
    /// The formats a device on this broker may have: the mqtt source's, but for those a device cannot send here — a
    /// Victron GX publishes on its own broker and only when asked (its keepalive), and <c>json</c> needs the mapping
    /// settings of a source.
    /// </summary>
    public static IReadOnlyList<string> DeviceFormats { get; } =
        [.. MqttFormats.Names.Where(n => n is not (VictronFormat.FormatName or JsonFormat.FormatName))];

    /// <summary>The device id of its readings; default the device named in the topic (as an mqtt source).</summary>
    public string? Device { get; set; }

    /// <summary>The DER id; default the device named in the topic (as an mqtt source).</summary>
    public string? Der { get; set; }

    /// <summary>The device's time zone (IANA id) for a local time in its payloads; default the machine's.</summary>
    public string? TimeZone { get; set; }

    /// <summary>
    /// The device's own level in its topics (Tasmota's Topic, a Shelly's MQTT prefix or id, an OpenDTU's base topic is
    /// not one: set <see cref="Topics"/>); default the <see cref="Username"/>. It makes the default <see cref="Topics"/>.
    /// </summary>
    public string? TopicName { get; set; }

    /// <summary>
    /// The topic filters this device may publish and subscribe under; default its format's filters with the device's
    /// level set to <see cref="TopicName"/> and everything below it (<c>tele/plug-1/#</c> for tasmota).
    /// </summary>
    public string[] Topics { get; set; } = [];

    public string OwnTopicName => string.IsNullOrEmpty(TopicName) ? Username : TopicName;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[] { (nameof(Org), Org), (nameof(Site), Site) })
        {
            if (!string.IsNullOrEmpty(value) && !Subjects.IsValidToken(value))
            {
                yield return new ValidationResult($"'{value}' is not an id ({Subjects.TokenRule}).", [name]);
            }
        }

        foreach (var (name, value) in new[] { (nameof(Device), Device), (nameof(Der), Der) })
        {
            if (!string.IsNullOrEmpty(value) && !Subjects.IsValidToken(value))
            {
                yield return new ValidationResult($"'{value}' is not an id ({Subjects.TokenRule}).", [name]);
            }
        }

        if (!string.IsNullOrEmpty(Format) && !DeviceFormats.Contains(Format))
        {
            var why = MqttFormats.IsKnown(Format) ? $" ('{Format}' is read from a broker of its own with an mqtt source, Sources:N:Kind=mqtt)" : "";
            yield return new ValidationResult($"must be one of {string.Join(", ", DeviceFormats)} (was '{Format}'){why}.", [nameof(Format)]);
        }

        if (!string.IsNullOrEmpty(TimeZone) && !TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _))
        {
            yield return new ValidationResult($"'{TimeZone}' is not a time zone id.", [nameof(TimeZone)]);
        }

        if (OwnTopicName is { Length: > 0 } level && !TopicScope.IsLevel(level))
        {
            yield return new ValidationResult($"'{level}' cannot be a topic level (no '/', '+', '#' or '$' at its start): set TopicName.", [nameof(TopicName)]);
        }

        if (Topics.Any(t => !TopicScope.IsFilter(t)))
        {
            yield return new ValidationResult("must be MQTT topic filters ('#' only as the last level, '+' only as a whole level, none starting with '$').", [nameof(Topics)]);
        }
    }
}
