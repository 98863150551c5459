using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Wattstream.Emulators.Mqtt;

namespace Wattstream.Emulators.Shelly;

/// <summary>
/// A Shelly Pro 3EM (second generation) with generic status notifications over MQTT on: each interval the EM
/// component's status on <c>&lt;prefix&gt;/status/em:0</c> (per phase <c>current</c>, <c>voltage</c>, <c>act_power</c>,
/// <c>aprt_power</c>, <c>pf</c>, <c>freq</c>, and the totals) and the EMData component's energy registers on
/// <c>&lt;prefix&gt;/status/emdata:0</c> (per phase <c>total_act_energy</c> and <c>total_act_ret_energy</c>, and
/// <c>total_act</c>, <c>total_act_ret</c>, in Wh); the retained <c>&lt;prefix&gt;/online</c> <c>true</c> with the last
/// will <c>false</c>.
/// </summary>
/// <remarks>
/// Member names as in Shelly's API documentation (https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/EM and
/// …/EMData). A real device sends emdata:0 about once a minute; this one sends it with every em:0, so energy follows
/// power at the emulator's interval.
/// </remarks>
public sealed class EmulatedShellyPro3Em : IEmulatedMqttDevice
{
    private static readonly string[] Phase = ["a_", "b_", "c_"];
    private readonly EmulatedGridMeter _meter;
    private readonly string _emTopic;
    private readonly string _emDataTopic;

    /// <param name="index">The device's number in its fleet (0 and up): it gives the made-up MAC address and the meter.</param>
    public EmulatedShellyPro3Em(string prefix, int index, int seed, DateTimeOffset start, TimeZoneInfo timeZone)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // The default topic prefix (and client id) is the device id: the model and the MAC address in lower-case hex.
        Name = $"{prefix}-0cb815{(0xFC0000 + index).ToString("x6", CultureInfo.InvariantCulture)}";
        ClientId = Name;
        AvailabilityTopic = $"{Name}/online";
        _emTopic = $"{Name}/status/em:0";
        _emDataTopic = $"{Name}/status/emdata:0";
        _meter = new EmulatedGridMeter(index + 1, seed, start, timeZone);
    }

    public string Name { get; }

    public string ClientId { get; }

    public string AvailabilityTopic { get; }

    public byte[] OnlinePayload { get; } = "true"u8.ToArray();

    public byte[] OfflinePayload { get; } = "false"u8.ToArray();

    public IReadOnlyList<MqttDeviceMessage> Connected(DateTimeOffset now) => [];

    public IReadOnlyList<MqttDeviceMessage> Report(DateTimeOffset now)
    {
        _meter.Step(now);
        var m = _meter;
        var em = new ArrayBufferWriter<byte>(768);
        using (var json = new Utf8JsonWriter(em))
        {
            json.WriteStartObject();
            json.WriteNumber("id", 0);
            double current = 0, apparent = 0, active = 0;
            for (var p = 0; p < 3; p++)
            {
                var amps = Math.Round(m.Amps(p), 3);
                var va = Math.Round(m.VoltAmperes(p), 1);
                var w = Math.Round(m.Watts[p], 1) + 0.0;
                json.WriteNumber(Phase[p] + "current", amps);
                json.WriteNumber(Phase[p] + "voltage", Math.Round(m.Volts[p], 1));
                json.WriteNumber(Phase[p] + "act_power", w);
                json.WriteNumber(Phase[p] + "aprt_power", va);
                json.WriteNumber(Phase[p] + "pf", Math.Round(m.PowerFactor(p), 2));
                json.WriteNumber(Phase[p] + "freq", Math.Round(m.Frequency, 1));
                current += amps;
                apparent += va;
                active += w;
            }

            json.WriteNull("n_current"); // no neutral current transformer
            json.WriteNumber("total_current", Math.Round(current, 3));
            json.WriteNumber("total_act_power", Math.Round(active, 1) + 0.0);
            json.WriteNumber("total_aprt_power", Math.Round(apparent, 1));
            json.WriteStartArray("user_calibrated_phase");
            json.WriteEndArray();
            json.WriteEndObject();
        }

        var emData = new ArrayBufferWriter<byte>(384);
        using (var json = new Utf8JsonWriter(emData))
        {
            json.WriteStartObject();
            json.WriteNumber("id", 0);
            for (var p = 0; p < 3; p++)
            {
                json.WriteNumber(Phase[p] + "total_act_energy", Math.Round(m.ImportWh(p), 2));
                json.WriteNumber(Phase[p] + "total_act_ret_energy", Math.Round(m.ExportWh(p), 2));
            }

            json.WriteNumber("total_act", Math.Round(m.TotalImportWh, 2));
            json.WriteNumber("total_act_ret", Math.Round(m.TotalExportWh, 2));
            json.WriteEndObject();
        }

        return [new MqttDeviceMessage(_emTopic, em.WrittenSpan.ToArray()), new MqttDeviceMessage(_emDataTopic, emData.WrittenSpan.ToArray())];
    }
}
