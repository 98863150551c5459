using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The mqtt source's opendtu format against a real mosquitto: an inverter's topics, published as OpenDTU does, reach
/// the site stream as its pv DER with the hub's sign and units, and the inverter's reachable flag is its status.
/// </summary>
public sealed class OpenDtuSourceTests
{
    private static readonly string Fixture = RepoFiles.MqttFixture("opendtu", "inverter-topics.tsv");

    [Fact]
    public async Task An_opendtu_inverters_topics_reach_the_site_stream_as_its_pv_der_and_reachable_is_its_status()
    {
        await using var device = await MqttSourceHost.StartAsync("opendtu");
        var (host, client) = (device.Host, device.Client);
        var messages = (await File.ReadAllLinesAsync(Fixture)).Select(l => l.Split('\t')).Select(p => (Topic: p[0], Payload: p[1])).ToArray();

        // A first round makes the site and the inverter known; the stream then listens before OpenDTU publishes again.
        await client.PublishInOrderAsync(messages);
        var hub = host.Service<TelemetryHub>();
        var inverter = new DerAddress("acme", "home", "114182912345", "114182912345");
        await Eventually.UntilAsync(() => hub.GetLast(inverter)?.Reading.TryGetRaw(Quantity.ActivePower, out _) == true, "the first round arrived");
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 200, TimeSpan.FromSeconds(30),
            until: item => (double?)JsonNode.Parse(item.Data)!["W"] == -298.7); // the round's last message: its new AC power
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await client.PublishInOrderAsync(messages.Select(m => m.Topic.EndsWith("/0/power", StringComparison.Ordinal) ? (m.Topic, "298.7") : m));

        var pv = JsonNode.Parse((await stream).Last().Data)!;
        Assert.Equal("pv", (string?)pv["type"]);
        Assert.Equal("114182912345", (string?)pv["der_id"]);
        Assert.Equal(-298.7, (double)pv["W"]!); // the second round's power, as the hub's − generation
        Assert.Equal(812_345, (double)pv["total_generation_Wh"]!, 3); // yieldtotal, 812.345 kWh
        Assert.Equal(33.1, (double)pv["mppt1_V"]!);
        Assert.Equal(5.34, (double)pv["mppt2_A"]!);
        Assert.Equal(32.5, (double)pv["heatsink_C"]!);

        var held = hub.GetLast(inverter)!.Reading;
        Assert.Equal(0.998, held.Get(Quantity.PowerFactor, Unit.None)!.Value, 6);
        Assert.Contains(held.Extras, e => e.Name == "yieldday" && e.RawText == "1650");
        Assert.Equal(0, (long)(await device.SourceAsync())["rejected"]!);

        // The inverter's reachable flag is its DER's status.
        var statuses = host.Service<StatusBoard>();
        await client.PublishInOrderAsync([("solar/114182912345/status/reachable", "0")]);
        await Eventually.UntilAsync(() => statuses.Get(inverter)?.Status == ConnectionStatus.Disconnected, "the inverter is unreachable");
        await client.PublishInOrderAsync([("solar/114182912345/status/reachable", "1")]);
        await Eventually.UntilAsync(() => statuses.Get(inverter)?.Status == ConnectionStatus.Connected, "the inverter is back");

        await client.DisconnectAsync();
    }
}
