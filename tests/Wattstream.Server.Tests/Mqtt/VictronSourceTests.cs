using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The mqtt source's victron format against a real mosquitto and a client standing for a Venus OS GX device, which
/// publishes only when asked: the hub's keepalive reaches the broker, Venus's answer reaches the site stream as the
/// installation's grid meter, PV and battery with the hub's signs and units, and a malformed value is counted and skipped.
/// </summary>
public sealed class VictronSourceTests
{
    private const string Portal = "c0619ab12345";
    private static readonly string Fixture = RepoFiles.MqttFixture("victron", "venus-topics.tsv");

    [Fact]
    public async Task The_hubs_keepalive_wakes_venus_and_its_values_reach_the_site_stream_as_grid_pv_and_battery()
    {
        await using var broker = await Mosquitto.StartAsync();
        using var venus = new MqttClientFactory().CreateMqttClient();
        var keepalives = new ConcurrentQueue<(string Topic, string Payload)>();
        venus.ApplicationMessageReceivedAsync += e =>
        {
            keepalives.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload)));
            return Task.CompletedTask;
        };
        await venus.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("venus").Build());
        await venus.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("R/+/keepalive").Build());

        await using var host = await WattstreamHost.StartAsync(
        [
            "--Simulation:Enabled=false", "--Sources:0:Id=gx", "--Sources:0:Kind=mqtt", $"--Sources:0:Url={broker.Url}",
            "--Sources:0:Format=victron", $"--Sources:0:PortalId={Portal}", "--Sources:0:Org=acme", "--Sources:0:Site=home",
        ]);

        // The source asks Venus for everything as it connects, on the topic Venus listens to.
        await Eventually.UntilAsync(() => !keepalives.IsEmpty, "the hub sent a keepalive");
        Assert.True(keepalives.TryPeek(out var keepalive));
        Assert.Equal(($"R/{Portal}/keepalive", ""), keepalive);

        // Venus answers with its full publish; the stream then listens before values change.
        var messages = (await File.ReadAllLinesAsync(Fixture)).Select(l => l.Split('\t')).Select(p => (Topic: p[0], Payload: p[1])).ToArray();
        await venus.PublishInOrderAsync(messages);
        var hub = host.Service<TelemetryHub>();
        var battery = new DerAddress("acme", "home", Portal, $"{Portal}-battery");
        await Eventually.UntilAsync(() => hub.GetLast(battery)?.Reading.TryGetRaw(Quantity.StateOfCharge, out _) == true, "the full publish arrived");
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 200, TimeSpan.FromSeconds(30),
            until: item => (double?)JsonNode.Parse(item.Data)!["W"] == -2150); // the last message: the system's DC PV went up by 100 W
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await venus.PublishInOrderAsync([($"N/{Portal}/system/0/Dc/Battery/Soc", """{"value":"full"}""")]); // malformed: skipped
        await venus.PublishInOrderAsync([.. messages, ($"N/{Portal}/system/0/Dc/Pv/Power", """{"value":1550}""")]);

        var readings = (await stream).Select(i => JsonNode.Parse(i.Data)!).ToArray();
        var meter = readings.Last(r => (string?)r["type"] == "meter");
        Assert.Equal($"{Portal}-grid", (string?)meter["der_id"]);
        Assert.Equal(857, (double)meter["W"]!, 6); // + import, the phases' sum
        Assert.Equal(-95.6, (double)meter["L2_W"]!, 6);
        Assert.Equal(231.2, (double)meter["L1_V"]!);
        Assert.Equal(4_123_520, (double)meter["total_import_Wh"]!, 3); // Venus's 4123.52 kWh
        Assert.Equal(1_876_310, (double)meter["total_export_Wh"]!, 3);

        var pv = readings.Last(r => (string?)r["type"] == "pv");
        Assert.Equal($"{Portal}-pv", (string?)pv["der_id"]);
        Assert.Equal(-2150, (double)pv["W"]!); // − generation: 1550 W DC + 600 W AC
        Assert.Equal(5_802_300, (double)pv["total_generation_Wh"]!, 3);

        var storage = readings.Last(r => (string?)r["type"] == "battery");
        Assert.Equal(850.6, (double)storage["W"]!); // + charging
        Assert.Equal(0.675, (double)storage["SoC_nom_fract"]!, 6);
        Assert.Equal(52.9, (double)storage["V"]!);
        Assert.Equal(912_400, (double)storage["total_charge_Wh"]!, 3);

        var source = JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray().Single(s => (string?)s!["id"] == "gx")!;
        Assert.Equal(1, (long)source["rejected"]!);
        Assert.Equal("CONNECTED", (string?)source["status"]);
        Assert.All(keepalives, k => Assert.Equal($"R/{Portal}/keepalive", k.Topic));

        await venus.DisconnectAsync();
    }
}
