using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Wattstream.Emulators.Mqtt;

namespace Wattstream.Emulators.Tasmota;

/// <summary>
/// Tasmota on a three-phase energy monitor (an ADE7880 or SDM630 driver): every TelePeriod a <c>tele/&lt;topic&gt;/SENSOR</c>
/// whose <c>ENERGY</c> object has the per-phase arrays (<c>Power</c>, <c>ApparentPower</c>, <c>ReactivePower</c>,
/// <c>Factor</c>, <c>Frequency</c>, <c>Voltage</c>, <c>Current</c>, <c>ExportActive</c>) and the import registers
/// (<c>Total</c>, <c>Today</c>, <c>Yesterday</c> in kWh since <c>TotalStartTime</c>), with the device's local
/// <c>Time</c> without an offset; a <c>STATE</c> after connecting; the retained <c>LWT</c> <c>Online</c> with the last will
/// <c>Offline</c>.
/// </summary>
/// <remarks>
/// Resolutions are Tasmota's defaults (VoltRes 0, AmpRes 3, WattRes 0, EnergyRes 3). The shapes follow Tasmota's
/// documentation (https://tasmota.github.io/docs/MQTT/ and the energy driver's JSON); the repository's fixtures in
/// tests/Wattstream.Server.Tests/Fixtures/Mqtt/tasmota show the same members from real devices.
/// </remarks>
public sealed class EmulatedTasmotaMeter : IEmulatedMqttDevice
{
    private readonly EmulatedGridMeter _meter;
    private readonly string _sensorTopic;
    private readonly string _stateTopic;
    private readonly string _totalStartTime;
    private readonly DateTimeOffset _boot;
    private readonly TimeZoneInfo _timeZone;

    /// <param name="index">The device's number in its fleet (0 and up): it gives the made-up MAC address and the meter.</param>
    public EmulatedTasmotaMeter(string prefix, int index, int seed, DateTimeOffset start, TimeZoneInfo timeZone)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // Tasmota's default topic is tasmota_ and the last six hex digits of the MAC; its client id DVES_ and the same.
        var mac = (0xE8DB00 + index).ToString("X6", CultureInfo.InvariantCulture);
        Name = $"{prefix}_{mac}";
        ClientId = $"DVES_{mac}-{prefix}";
        AvailabilityTopic = $"tele/{Name}/LWT";
        _sensorTopic = $"tele/{Name}/SENSOR";
        _stateTopic = $"tele/{Name}/STATE";
        _timeZone = timeZone;
        _meter = new EmulatedGridMeter(index + 1, seed, start, timeZone);
        _boot = start;
        _totalStartTime = Local(start.AddDays(-200 - (index % 300)));
    }

    public string Name { get; }

    public string ClientId { get; }

    public string AvailabilityTopic { get; }

    public byte[] OnlinePayload { get; } = "Online"u8.ToArray();

    public byte[] OfflinePayload { get; } = "Offline"u8.ToArray();

    public IReadOnlyList<MqttDeviceMessage> Connected(DateTimeOffset now)
    {
        var uptime = now - _boot;
        var state = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(state))
        {
            json.WriteStartObject();
            json.WriteString("Time", Local(now));
            json.WriteString("Uptime", $"{uptime.Days}T{uptime:hh\\:mm\\:ss}");
            json.WriteNumber("UptimeSec", (long)uptime.TotalSeconds);
            json.WriteNumber("Heap", 24);
            json.WriteString("SleepMode", "Dynamic");
            json.WriteNumber("Sleep", 50);
            json.WriteNumber("LoadAvg", 19);
            json.WriteNumber("MqttCount", 1);
            json.WriteStartObject("Wifi");
            json.WriteNumber("AP", 1);
            json.WriteString("SSId", "emulated");
            json.WriteNumber("RSSI", 78);
            json.WriteNumber("Signal", -61);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return [new MqttDeviceMessage(_stateTopic, state.WrittenSpan.ToArray())];
    }

    public IReadOnlyList<MqttDeviceMessage> Report(DateTimeOffset now)
    {
        _meter.Step(now);
        var m = _meter;
        var sensor = new ArrayBufferWriter<byte>(640);
        using (var json = new Utf8JsonWriter(sensor))
        {
            json.WriteStartObject();
            json.WriteString("Time", Local(m.Time));
            json.WriteStartObject("ENERGY");
            json.WriteString("TotalStartTime", _totalStartTime);
            json.WriteNumber("Total", Math.Round(m.TotalImportWh / 1000, 3));
            json.WriteNumber("Yesterday", Math.Round(m.YesterdayWh / 1000, 3));
            json.WriteNumber("Today", Math.Round(m.Today / 1000, 3));
            Phases(json, "Power", p => Math.Round(m.Watts[p]));
            Phases(json, "ApparentPower", p => Math.Round(m.VoltAmperes(p)));
            Phases(json, "ReactivePower", p => Math.Round(m.Vars[p]));
            Phases(json, "Factor", p => Math.Round(m.PowerFactor(p), 2));
            Phases(json, "Frequency", _ => Math.Round(m.Frequency));
            Phases(json, "Voltage", p => Math.Round(m.Volts[p]));
            Phases(json, "Current", p => Math.Round(m.Amps(p), 3));
            Phases(json, "ExportActive", p => Math.Round(m.ExportWh(p) / 1000, 3));
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return [new MqttDeviceMessage(_sensorTopic, sensor.WrittenSpan.ToArray())];
    }

    private static void Phases(Utf8JsonWriter json, string name, Func<int, double> value)
    {
        json.WriteStartArray(name);
        for (var p = 0; p < 3; p++)
        {
            json.WriteNumberValue(value(p) + 0.0); // + 0.0: never "-0"
        }

        json.WriteEndArray();
    }

    // Tasmota's Time is its local time without an offset.
    private string Local(DateTimeOffset time) =>
        TimeZoneInfo.ConvertTime(time, _timeZone).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
}
