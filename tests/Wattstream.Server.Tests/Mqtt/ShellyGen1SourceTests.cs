using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>The shelly-gen1 format through a real mosquitto: a 3EM's per-phase topics become one three-phase meter, its last will its status.</summary>
public sealed class ShellyGen1SourceTests
{
    private const string Id = "shellyem3-84cca8a1b2c3";
    private static readonly string Fixtures = Path.Combine(RepoFiles.Root, "tests", "Wattstream.Server.Tests", "Fixtures", "Mqtt", "shelly-gen1");

    [Fact]
    public async Task A_3em_s_emeter_topics_reach_the_site_stream_as_one_three_phase_meter_and_its_last_will_is_its_status()
    {
        await using var device = await MqttSourceHost.StartAsync("shelly-gen1");
        var (host, client) = (device.Host, device.Client);
        var messages = (await File.ReadAllLinesAsync(Path.Combine(Fixtures, "3em-emeter.txt"))).Where(l => l.Length > 0)
            .Select(l => (Topic: l[..l.IndexOf(' ', StringComparison.Ordinal)], Payload: l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..])).ToArray();

        // The site exists once a first reading arrived; the stream then listens before the device reports the rest.
        await client.PublishHeldAsync(messages[0].Topic, messages[0].Payload);
        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/api/sites")).Contains("\"home\"", StringComparison.Ordinal), "the site is known");
        var hub = host.Service<TelemetryHub>();
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 40, TimeSpan.FromSeconds(30),
            until: i => JsonNode.Parse(i.Data)!["total_export_Wh"] is not null);
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        foreach (var (topic, payload) in messages[1..])
        {
            await client.PublishHeldAsync(topic, payload);
        }

        var readings = (await stream).Select(i => JsonNode.Parse(i.Data)!).ToArray();
        Assert.All(readings, r => Assert.Equal(Id, (string?)r["der_id"]));
        Assert.All(readings, r => Assert.Equal("meter", (string?)r["type"]));
        var last = readings[^1]; // each reading is the meter's latest values: the last has them all
        Assert.Equal(750.43, (double)last["W"]!, 6); // the sum of the three phases
        Assert.Equal([1012.52, 58.31, -320.4], new[] { (double)last["L1_W"]!, (double)last["L2_W"]!, (double)last["L3_W"]! });
        Assert.Equal([235.64, 236.1, 234.8], new[] { (double)last["L1_V"]!, (double)last["L2_V"]!, (double)last["L3_V"]! });
        Assert.Equal(1.37, (double)last["L3_A"]!);
        Assert.Equal(196005.5, (double)last["total_import_Wh"]!, 6);
        Assert.Equal(9424.1, (double)last["total_export_Wh"]!, 6);
        Assert.Equal(0, hub.Counters.Duplicates); // a burst within a millisecond loses nothing

        var der = new DerAddress("acme", "home", Id, Id);
        Assert.Equal(9.4241, hub.GetLast(der)!.Reading.Get(Quantity.EnergyExport, Unit.KilowattHour)!.Value, 9);
        var statuses = host.Service<StatusBoard>();
        await client.PublishHeldAsync($"shellies/{Id}/online", "false", retain: true); // as the broker sends a lost device's will
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Disconnected, "the meter is offline");
        await client.PublishHeldAsync($"shellies/{Id}/online", "true", retain: true);
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Connected, "the meter is back");
    }
}
