using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Emulators.Mqtt;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Emulators.Tests.Mqtt;

/// <summary>
/// The Tasmota and Shelly emulators against a real mosquitto: what a subscriber receives parses with the hub's own
/// formats to plausible three-phase readings whose energy registers grow by the power reported times the time between
/// reports; the devices announce themselves online (retained) and their last will reaches a subscriber when their
/// connections drop without a DISCONNECT.
/// </summary>
public sealed class MqttDeviceEmulatorTests
{
    // Midsummer noon in Zurich (the simulator's default place): the PV produces, and the phases the household loads
    // least export.
    private static readonly DateTimeOffset Noon = new(2026, 6, 21, 11, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private static SourceOptions Source() => new() { Id = "t", Kind = SourceKind.Mqtt, Org = "acme", Site = "home", TimeZone = "UTC" };

    [Fact]
    public async Task Tasmota_sensor_payloads_read_as_three_phase_readings_whose_energy_follows_the_power_reported()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var subscriber = await Subscriber.StartAsync(broker, "tele/#");
        var clock = new FakeTimeProvider(Noon);
        var emulator = MqttDeviceEmulator.Create(MqttDeviceFamily.Tasmota, Options(broker, devices: 2), time: clock);
        await using (emulator)
        {
            await emulator.StartAsync();
            const int reports = 6;
            for (var k = 1; k < reports; k++)
            {
                await Eventually.UntilAsync(() => subscriber.On("SENSOR").Count() == 2 * k, $"report {k} of both devices");
                clock.Advance(Interval); // the emulator's own timer ticks
            }

            await Eventually.UntilAsync(() => subscriber.On("SENSOR").Count() == 2 * reports, "the last report");
            Assert.Equal(["tasmota_E8DB00", "tasmota_E8DB01"], emulator.Devices.Select(d => d.Name));
            Assert.Equal(2, subscriber.On("STATE").Count());
            Assert.All(subscriber.On("LWT"), m => Assert.Equal("Online", m.Text));
            await using (var late = await Subscriber.StartAsync(broker, "tele/+/LWT"))
            {
                // Retained: a subscriber that comes later is told at once, with the retain flag.
                await Eventually.UntilAsync(() => late.On("LWT").Count() == 2, "the retained LWTs");
                Assert.All(late.On("LWT"), m => Assert.Equal(("Online", true), (m.Text, m.Retain)));
            }


            var format = new TasmotaFormat(new MqttAddressing(Source()));
            Assert.Empty(format.Read("tele/tasmota_E8DB00/STATE", subscriber.On("STATE").First().Payload, 0).Readings); // nothing to measure
            var exported = false;
            foreach (var device in emulator.Devices)
            {
                var readings = subscriber.On("SENSOR").Where(m => m.Topic == $"tele/{device.Name}/SENSOR")
                    .Select(m => format.Read(m.Topic, m.Payload, 0).Readings.Single()).ToArray();
                Assert.Equal(reports, readings.Length);
                for (var k = 0; k < readings.Length; k++)
                {
                    var r = readings[k].Reading;
                    Assert.Equal(new DerAddress("acme", "home", device.Name, device.Name), r.Der);
                    Assert.Equal((Noon + (k * Interval)).ToUnixTimeMilliseconds(), readings[k].DeviceTime); // Tasmota's local Time

                    Plausible(r);
                    Assert.True(r.TryGet(Quantity.EnergyExport, Unit.KilowattHour, out _));
                    Assert.Contains(r.Extras, e => e.Name == "Today");
                    Assert.Contains(r.Extras, e => e.Name == "TotalStartTime");
                    exported |= new[] { Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3 }.Any(q => r.Get(q, Unit.Watt) < 0);
                }

                // Each phase's import counts the power it carried over the minute since the last report (kWh, 3 decimals).
                for (var k = 1; k < readings.Length; k++)
                {
                    var now = readings[k].Reading;
                    var importedWh = new[] { Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3 }
                        .Sum(q => Math.Max(0, now.Get(q, Unit.Watt)!.Value)) * Interval.TotalHours;
                    var delta = (now.Get(Quantity.EnergyImport, Unit.WattHour) - readings[k - 1].Reading.Get(Quantity.EnergyImport, Unit.WattHour))!.Value;
                    Assert.InRange(delta, importedWh - 2, importedWh + 2);
                    Assert.True(delta >= 0, "a register never goes back");
                }
            }

            Assert.True(exported, "at noon a phase the household loads little exports the PV's surplus");
        }

        // A clean stop says Offline itself (retained) before it disconnects.
        await Eventually.UntilAsync(() => subscriber.On("LWT").Count(m => m.Text == "Offline") == 2, "both devices offline");
    }

    [Fact]
    public async Task Shelly_pro_3em_status_reads_as_power_and_energy_of_one_meter_at_qos_1_and_its_last_will_follows_a_lost_connection()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var subscriber = await Subscriber.StartAsync(broker, "#");
        var clock = new FakeTimeProvider(Noon);
        var options = Options(broker, devices: 1);
        options.Qos = 1;
        options.TopicPrefix = "house";
        var emulator = MqttDeviceEmulator.Create(MqttDeviceFamily.Shelly, options, time: clock);
        await emulator.StartAsync();
        const int reports = 4;
        for (var k = 1; k < reports; k++)
        {
            await Eventually.UntilAsync(() => subscriber.On("emdata:0").Count() == k, $"report {k}");
            clock.Advance(Interval);
        }

        await Eventually.UntilAsync(() => subscriber.On("emdata:0").Count() == reports, "the last report");
        var name = emulator.Devices.Single().Name;
        Assert.Equal("house-0cb815fc0000", name);
        Assert.Equal("true", subscriber.On("online").Single().Text);
        await using (var late = await Subscriber.StartAsync(broker, "+/online"))
        {
            await Eventually.UntilAsync(() => late.On("online").Any(), "the retained online message");
            Assert.Equal(("true", true), late.On("online").Select(m => (m.Text, m.Retain)).Single());
        }

        var format = new ShellyGen2Format(new MqttAddressing(Source()));
        var der = new DerAddress("acme", "home", name, name);
        var power = subscriber.On("em:0").Select(m => format.Read(m.Topic, m.Payload, 0).Readings.Single().Reading).ToArray();
        var energy = subscriber.On("emdata:0").Select(m => format.Read(m.Topic, m.Payload, 0).Readings.Single().Reading).ToArray();
        Assert.Equal(reports, power.Length);
        Assert.All(power, r => Assert.Equal(der, r.Der));
        Assert.All(energy, r => Assert.Equal(der, r.Der));
        Assert.All(power, Plausible);
        for (var k = 1; k < reports; k++)
        {
            // The registers grow by what the phases imported and exported over the minute since the last report (Wh).
            var phases = new[] { Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3 }.Select(q => power[k].Get(q, Unit.Watt)!.Value).ToArray();
            var imported = phases.Sum(w => Math.Max(0, w)) * Interval.TotalHours;
            var exported = phases.Sum(w => Math.Max(0, -w)) * Interval.TotalHours;
            Assert.InRange(energy[k].Get(Quantity.EnergyImport, Unit.WattHour)!.Value - energy[k - 1].Get(Quantity.EnergyImport, Unit.WattHour)!.Value, imported - 0.2, imported + 0.2);
            Assert.InRange(energy[k].Get(Quantity.EnergyExport, Unit.WattHour)!.Value - energy[k - 1].Get(Quantity.EnergyExport, Unit.WattHour)!.Value, exported - 0.2, exported + 0.2);
        }

        // The device's total is the sum of its phases, as a Pro 3EM's is.
        var last = System.Text.Json.JsonDocument.Parse(subscriber.On("emdata:0").Last().Payload).RootElement;
        Assert.Equal(last.GetProperty("total_act").GetDouble(), new[] { "a", "b", "c" }.Sum(p => last.GetProperty($"{p}_total_act_energy").GetDouble()), 0.02);

        // The connections drop without a DISCONNECT: the broker publishes the last will, the emulator nothing.
        await emulator.AbortAsync();
        await Eventually.UntilAsync(() => subscriber.On("online").Any(m => m.Text == "false"), "the last will");
        var will = format.Read($"{name}/online", subscriber.On("online").Last().Payload, 0).Availability!;
        Assert.False(will.Online);
        Assert.Equal(der, will.Ders.Single().Der);
    }

    [Fact]
    public async Task A_broker_that_refuses_the_password_stops_the_start_with_a_message_that_does_not_show_it()
    {
        await using var broker = await Mosquitto.StartAsync("device", "right-secret");
        var options = Options(broker, devices: 1);
        options.Username = "device";
        options.Password = "wrong-secret";
        await using var emulator = MqttDeviceEmulator.Create(MqttDeviceFamily.Tasmota, options);

        var refused = await Assert.ThrowsAsync<MqttEmulatorException>(() => emulator.StartAsync());

        Assert.Contains("wrong user name or password", refused.Message, StringComparison.Ordinal);
        Assert.Contains(broker.Url, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", refused.Message, StringComparison.Ordinal);

        options.Password = "right-secret";
        await using var admitted = MqttDeviceEmulator.Create(MqttDeviceFamily.Tasmota, options);
        await admitted.StartAsync();
        Assert.Equal(1, admitted.ConnectedDevices);
    }

    [Theory]
    [InlineData("--devices must be between 1 and 10000", 0, 1000, 0, null)]
    [InlineData("--interval must be between 1ms and 1h", 1, 0, 0, null)]
    [InlineData("--qos must be 0 or 1", 1, 1000, 2, null)]
    [InlineData("--topic-prefix must be", 1, 1000, 0, "tele/#")]
    public void Options_that_make_no_fleet_are_refused_by_name(string message, int devices, int intervalMs, int qos, string? prefix)
    {
        var options = new MqttEmulatorOptions { Devices = devices, Interval = TimeSpan.FromMilliseconds(intervalMs), Qos = qos, TopicPrefix = prefix };

        var refused = Assert.Throws<ArgumentException>(() => MqttDeviceEmulator.Create(MqttDeviceFamily.Shelly, options));

        Assert.StartsWith(message, refused.Message, StringComparison.Ordinal);
    }

    // A grid meter's three phases as a household's would be: about 230 V, currents and power that agree.
    private static void Plausible(Reading r)
    {
        Quantity[] volts = [Quantity.VoltageL1, Quantity.VoltageL2, Quantity.VoltageL3];
        Quantity[] amps = [Quantity.CurrentL1, Quantity.CurrentL2, Quantity.CurrentL3];
        Quantity[] watts = [Quantity.ActivePowerL1, Quantity.ActivePowerL2, Quantity.ActivePowerL3];
        for (var p = 0; p < 3; p++)
        {
            var v = r.Get(volts[p], Unit.Volt)!.Value;
            var a = r.Get(amps[p], Unit.Ampere)!.Value;
            var w = r.Get(watts[p], Unit.Watt)!.Value;
            Assert.InRange(v, 220, 240);
            Assert.InRange(a, 0, 63);
            Assert.InRange(Math.Abs(w), 0, ((v + 1) * a) + 5); // |P| ≤ S = V·I (rounding aside)
        }

        var total = r.Get(Quantity.ActivePower, Unit.Watt)!.Value;
        Assert.Equal(watts.Sum(q => r.Get(q, Unit.Watt)!.Value), total, 0.5);
    }

    private static MqttEmulatorOptions Options(Mosquitto broker, int devices) => new()
    {
        Broker = new Uri(broker.Url),
        Devices = devices,
        Interval = Interval,
        Seed = 11,
        TimeZone = TimeZoneInfo.Utc,
    };

    private sealed record Received(string Topic, byte[] Payload, bool Retain)
    {
        public string Text => Encoding.UTF8.GetString(Payload);
    }

    /// <summary>A client subscribed at QoS 1 to a topic filter, keeping what it receives.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly IMqttClient _client;
        private readonly ConcurrentQueue<Received> _received = new();

        private Subscriber(IMqttClient client)
        {
            _client = client;
            _client.ApplicationMessageReceivedAsync += e =>
            {
                _received.Enqueue(new Received(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.Retain));
                return Task.CompletedTask;
            };
        }

        /// <summary>What arrived on topics whose last level is <paramref name="last"/>, in order.</summary>
        public IEnumerable<Received> On(string last) => _received.Where(m => m.Topic.EndsWith("/" + last, StringComparison.Ordinal));

        public static async Task<Subscriber> StartAsync(Mosquitto broker, string filter)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var subscriber = new Subscriber(client);
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId($"watcher-{Guid.NewGuid():N}").Build());
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return subscriber;
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }
    }
}
