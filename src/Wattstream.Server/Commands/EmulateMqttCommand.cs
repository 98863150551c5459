using System.CommandLine;
using System.Globalization;
using Wattstream.Emulators.Mqtt;
using Wattstream.Server.Access;

namespace Wattstream.Server.Commands;

/// <summary>
/// <c>emulate tasmota</c> and <c>emulate shelly</c>: MQTT devices with three-phase meters publishing to a broker, each
/// with its own connection and last will, until stopped.
/// </summary>
internal sealed class EmulateMqttCommand : Command
{
    private readonly MqttDeviceFamily _family;
    private readonly Option<string> _broker = new("--broker") { Description = "The broker: mqtt://host:port or mqtts://host:port.", DefaultValueFactory = _ => "mqtt://127.0.0.1:1883" };
    private readonly Option<string?> _username = new("--username") { Description = "User name at the broker." };
    private readonly Option<string?> _password = new("--password") { Description = "Password at the broker. Also read from MQTT_PASSWORD." };
    private readonly Option<int> _devices = new("-N", "--devices") { Description = "How many devices, each with its own connection, last will and meter.", DefaultValueFactory = _ => 1 };
    private readonly Option<string> _interval = new("--interval") { Description = "Between two reports of a device: 250ms, 1s, 10s, 1m.", DefaultValueFactory = _ => "10s" };
    private readonly Option<int> _qos = new("--qos") { Description = "QoS of the reports: 0 or 1 (the online message and last will are QoS 1).", DefaultValueFactory = _ => 0 };
    private readonly Option<string?> _topicPrefix = new("--topic-prefix") { Description = "What device names (in topics) begin with; default tasmota / shellypro3em." };
    private readonly Option<int?> _seed = new("--seed") { Description = "Makes the meters' values reproducible." };

    public EmulateMqttCommand(MqttDeviceFamily family)
        : base(
            family == MqttDeviceFamily.Tasmota ? "tasmota" : "shelly",
            family == MqttDeviceFamily.Tasmota
                ? "Emulate Tasmota three-phase energy monitors over MQTT: tele/<topic>/SENSOR (ENERGY), STATE, and the retained LWT Online with the last will Offline."
                : "Emulate Shelly Pro 3EM meters over MQTT: <prefix>/status/em:0, <prefix>/status/emdata:0, and the retained <prefix>/online true with the last will false.")
    {
        _family = family;
        foreach (var option in new Option[] { _broker, _username, _password, _devices, _interval, _qos, _topicPrefix, _seed })
        {
            Options.Add(option);
        }

        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var options = new MqttEmulatorOptions
        {
            Username = result.GetValue(_username),
            Password = result.GetValue(_password) ?? (result.GetValue(_username) is null ? null : Environment.GetEnvironmentVariable("MQTT_PASSWORD")),
            Devices = result.GetValue(_devices),
            Qos = result.GetValue(_qos),
            TopicPrefix = result.GetValue(_topicPrefix),
            Seed = result.GetValue(_seed),
        };
        if (Uri.TryCreate(result.GetValue(_broker), UriKind.Absolute, out var broker))
        {
            options.Broker = broker;
        }
        else
        {
            problems.Add("--broker must be an mqtt:// or mqtts:// URL with a host.");
        }

        if (TryParseInterval(result.GetValue(_interval), out var interval))
        {
            options.Interval = interval;
        }
        else
        {
            problems.Add("--interval must be a duration such as 250ms, 1s, 10s or 1m.");
        }

        problems.AddRange(options.Errors());
        if (problems.Count > 0)
        {
            return await FailAsync(problems.Distinct());
        }

        // Listening for Ctrl+C and SIGTERM before the first device connects: a stop that comes while they connect (or
        // right after a device said it is online) is a clean stop too.
        var shutdown = Emulation.WaitForShutdownAsync(cancellationToken);
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(logging => logging.AddSimpleConsole());
        await using var emulator = MqttDeviceEmulator.Create(_family, options, loggers);
        try
        {
            await emulator.StartAsync(cancellationToken);
        }
        catch (MqttEmulatorException e)
        {
            return await FailAsync([e.Message]);
        }

        var devices = emulator.Devices;
        Console.WriteLine($"{Name} emulator: {devices.Count} device(s) ({devices[0].Name}{(devices.Count > 1 ? $" … {devices[^1].Name}" : "")}) on {emulator.BrokerText}, a report every {options.Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s at QoS {options.Qos}");
        Console.WriteLine($"  mosquitto_sub -h {options.Broker.Host} -p {(options.Broker.Port > 0 ? options.Broker.Port : 1883)} -v -t '{(_family == MqttDeviceFamily.Tasmota ? "tele/#" : "+/status/#")}'");
        await shutdown;
        return 0;
    }

    private async Task<int> FailAsync(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync($"wattstream emulate {Name}: {problem}");
        }

        return 1;
    }

    /// <summary>250ms, 1.5s, 10s, 1m, 1h; a bare number is seconds.</summary>
    internal static bool TryParseInterval(string? text, out TimeSpan interval)
    {
        interval = default;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            if (double.TryParse(text[..^2], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms > 0 && double.IsFinite(ms) && ms < 3_600_000)
            {
                interval = TimeSpan.FromMilliseconds(ms);
                return true;
            }

            return false;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            text += "s";
        }

        return TokenIssuer.TryParseLifetime(text, out interval);
    }
}
