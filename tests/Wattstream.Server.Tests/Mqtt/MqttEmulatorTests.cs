using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Emulators.Mqtt;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// <c>emulate tasmota</c> and <c>emulate shelly</c> end to end: a hub reading the format from a real mosquitto gets the
/// emulated meters' readings on its site stream; the verb run as an operator runs it says Offline when stopped and its
/// last will says it when killed, and the hub shows the meter disconnected.
/// </summary>
public sealed class MqttEmulatorTests
{
    [Theory]
    [InlineData("tasmota", MqttDeviceFamily.Tasmota, "total_import_Wh")]
    [InlineData("shelly-gen2", MqttDeviceFamily.Shelly, "total_import_Wh")]
    public async Task The_emulators_meters_reach_the_site_stream_through_mosquitto_and_the_hub(string format, MqttDeviceFamily family, string register)
    {
        await using var hub = await MqttSourceHost.StartAsync(format);
        await using var emulator = MqttDeviceEmulator.Create(family, new MqttEmulatorOptions
        {
            Broker = new Uri(hub.Broker.Url),
            Devices = 2,
            Interval = TimeSpan.FromMilliseconds(200),
            Seed = 5,
        });
        await emulator.StartAsync();
        await Eventually.UntilAsync(async () => (await hub.Host.Client.GetStringAsync("/api/sites")).Contains("\"home\"", StringComparison.Ordinal), "the site is known");

        // Both meters, with power and (Shelly: in its own message) the energy register.
        var names = emulator.Devices.Select(d => d.Name).ToHashSet();
        var seen = new HashSet<(string, bool)>();
        var items = await SseClient.ReadAsync(hub.Host.Client, "/stream/sites/home", 200, TimeSpan.FromSeconds(30), until: i =>
        {
            var r = JsonNode.Parse(i.Data)!;
            seen.Add(((string)r["der_id"]!, r[register] is not null));
            return names.All(n => seen.Contains((n, true)) && (family == MqttDeviceFamily.Tasmota || seen.Contains((n, false))));
        });

        var readings = items.Select(i => JsonNode.Parse(i.Data)!).ToArray();
        Assert.Equal(names.Order(StringComparer.Ordinal), readings.Select(r => (string)r["der_id"]!).Distinct().Order(StringComparer.Ordinal));
        foreach (var r in readings.Where(r => r["L1_V"] is not null))
        {
            Assert.Equal("meter", (string?)r["type"]);
            Assert.InRange((double)r["L1_V"]!, 220, 240);
            Assert.InRange((double)r["L3_V"]!, 220, 240);
            Assert.InRange((double)r["L2_A"]!, 0, 63);
            Assert.NotNull(r["W"]);
        }

        Assert.All(readings.Where(r => r[register] is not null), r => Assert.True((double)r[register]! > 1000, "a meter that has counted for a while"));
        Assert.Equal(0, (long)(await hub.SourceAsync())["rejected"]!);
    }

    [Fact]
    public async Task The_verb_says_offline_when_stopped_and_its_last_will_says_it_when_killed_and_the_hub_shows_the_meter_disconnected()
    {
        await using var hub = await MqttSourceHost.StartAsync("tasmota");
        var wills = new ConcurrentQueue<(string Topic, string Text)>();
        hub.Client.ApplicationMessageReceivedAsync += e =>
        {
            wills.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray())));
            return Task.CompletedTask;
        };
        await hub.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("tele/+/LWT", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var statuses = hub.Host.Service<StatusBoard>();
        var telemetry = hub.Host.Service<TelemetryHub>();

        // SIGTERM: a clean stop, exit 0, Offline said by the device itself.
        using (var stopped = StartVerb("tasmota", "--broker", hub.Broker.Url, "--interval", "200ms", "--topic-prefix", "calm"))
        {
            await Eventually.UntilAsync(() => wills.Contains(("tele/calm_E8DB00/LWT", "Online")), "the device online");
            using (var term = Process.Start("kill", ["-TERM", stopped.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await stopped.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, stopped.ExitCode);
            Assert.Contains(("tele/calm_E8DB00/LWT", "Offline"), wills);
        }

        // SIGKILL: the process says nothing more; the broker publishes the last will, and the hub takes it as the status.
        using var killed = StartVerb("tasmota", "--broker", hub.Broker.Url, "--interval", "200ms", "--topic-prefix", "doomed");
        var der = new DerAddress("acme", "home", "doomed_E8DB00", "doomed_E8DB00");
        try
        {
            await Eventually.UntilAsync(() => telemetry.GetLast(der) is not null, "a reading of the emulated meter");
            Assert.Equal(ConnectionStatus.Connected, statuses.Get(der)?.Status);
        }
        finally
        {
            killed.Kill();
        }

        await killed.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.UntilAsync(() => wills.Contains(("tele/doomed_E8DB00/LWT", "Offline")), "the last will");
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Disconnected, "the meter disconnected on the hub");
    }

    // The executable in a process of its own, as an operator starts it (its output drained, so it never blocks).
    private static Process StartVerb(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "wattstream.dll"), "emulate" }, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
