using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The mqtt source's evcc format against a real mosquitto: evcc's one-value topics, published as evcc does, reach the
/// site stream combined per DER with the hub's signs and units.
/// </summary>
public sealed class EvccSourceTests
{
    private static readonly string Fixture = RepoFiles.MqttFixture("evcc", "state-topics.tsv");

    [Fact]
    public async Task Evcc_site_and_loadpoint_topics_reach_the_site_stream_as_grid_pv_battery_and_chargers()
    {
        await using var device = await MqttSourceHost.StartAsync("evcc");
        var (host, client) = (device.Host, device.Client);
        var messages = (await File.ReadAllLinesAsync(Fixture)).Select(l => l.Split('\t')).Select(p => (Topic: p[0], Payload: p[1])).ToArray();

        // A first round makes the site and its DERs known; the stream then listens before evcc publishes again.
        await client.PublishInOrderAsync(messages);
        var hub = host.Service<TelemetryHub>();
        var lastCharger = new DerAddress("acme", "home", "evcc", "evcc-loadpoint-2");
        await Eventually.UntilAsync(() => hub.GetLast(lastCharger)?.Reading.TryGetRaw(Quantity.ActivePower, out _) == true, "the first round arrived");
        var subscribers = hub.Counters.Subscribers;
        var seen = new HashSet<string>();
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 200, TimeSpan.FromSeconds(30), until: item =>
        {
            var der = (string)JsonNode.Parse(item.Data)!["der_id"]!;
            seen.Add(der);
            // The round's last message is loadpoint 2's chargePower, new in this round: its reading ends the round.
            return seen.Count == 5 && der == "evcc-loadpoint-2" && (double?)JsonNode.Parse(item.Data)!["W"] == 1380;
        });
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await client.PublishInOrderAsync(messages.Select(m => m.Topic == "evcc/loadpoints/2/chargePower" ? (m.Topic, "1380") : m));

        var readings = (await stream).Select(i => JsonNode.Parse(i.Data)!).ToArray();
        JsonNode Last(string der) => readings.Last(r => (string?)r["der_id"] == der);

        var grid = Last("evcc-grid");
        Assert.Equal("meter", (string?)grid["type"]);
        Assert.Equal("evcc", (string?)grid["device_id"]);
        Assert.Equal(10, (double)grid["W"]!);
        Assert.Equal([-700.0, 1160, -440], new[] { (double)grid["L1_W"]!, (double)grid["L2_W"]!, (double)grid["L3_W"]! });
        Assert.Equal(-3.88, (double)grid["L1_A"]!);
        Assert.Equal(14_044_923, (double)grid["total_import_Wh"]!, 3); // evcc's grid/energy, 14044.923 kWh

        var pv = Last("evcc-pv");
        Assert.Equal("pv", (string?)pv["type"]);
        Assert.Equal(-6493, (double)pv["W"]!); // evcc's production, as the hub's − generation

        var battery = Last("evcc-battery");
        Assert.Equal("battery", (string?)battery["type"]);
        Assert.Equal(140, (double)battery["W"]!); // evcc's −140 W (charging) is + charging here
        Assert.Equal(0.63, (double)battery["SoC_nom_fract"]!, 6);

        var garage = Last("evcc-loadpoint-1");
        Assert.Equal("v2x_charger", (string?)garage["type"]);
        Assert.Equal(3847.48, (double)garage["W"]!);
        Assert.Equal(6_663_930, (double)garage["total_charge_Wh"]!, 3); // chargeTotalImport, 6663.93 kWh
        Assert.Equal(7420.896, (double)garage["session_charge_Wh"]!, 6);
        Assert.Equal(0.77761, (double)garage["vehicle_soc_fract"]!, 6);
        Assert.Equal(228.2381134, (double)garage["L2_V"]!, 6);

        var parking = Last("evcc-loadpoint-2");
        Assert.Equal(1380, (double)parking["W"]!); // the second round's value
        Assert.Equal(6_539_884, (double)parking["total_charge_Wh"]!, 3);

        // Units as the hub holds them, and evcc's fields beyond the model kept as extras of their DER.
        var held = hub.GetLast(new DerAddress("acme", "home", "evcc", "evcc-loadpoint-1"))!.Reading;
        Assert.Equal(6663.93, held.Get(Quantity.EnergyCharged, Unit.KilowattHour)!.Value, 6);
        Assert.Equal(77.761, held.Get(Quantity.VehicleStateOfCharge, Unit.Percent)!.Value, 6);
        Assert.Contains(held.Extras, e => e.Name == "charging" && e.RawText == "true");
        Assert.Contains(hub.GetLast(new DerAddress("acme", "home", "evcc", "evcc-grid"))!.Reading.Extras, e => e.Name == "homePower" && e.RawText == "2515.52");
        Assert.Equal(0, (long)(await device.SourceAsync())["rejected"]!);

        await client.DisconnectAsync();
    }
}
