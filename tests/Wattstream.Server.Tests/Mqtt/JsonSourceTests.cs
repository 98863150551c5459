using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The mqtt source's json format against a real mosquitto: a Tasmota SML reader's JSON and an inverter's bare number
/// and array, mapped in the settings, reach the site stream as a meter and a pv DER with the units and signs the
/// mappings give; a value that is not a number is counted and skipped.
/// </summary>
public sealed class JsonSourceTests
{
    private static readonly string Fixtures = Path.Combine(RepoFiles.Root, "tests", "Wattstream.Server.Tests", "Fixtures", "Mqtt", "json");

    private static readonly string[] Mappings =
    [
        "--Sources:0:Mappings:0:Topic=tele/+/SENSOR", "--Sources:0:Mappings:0:Type=meter", "--Sources:0:Mappings:0:Device={1}",
        "--Sources:0:Mappings:0:Fields:ActivePower:Path=SML.Power_curr", "--Sources:0:Mappings:0:Fields:ActivePower:Unit=W",
        "--Sources:0:Mappings:0:Fields:EnergyImport:Path=SML.Total_in", "--Sources:0:Mappings:0:Fields:EnergyImport:Unit=kWh",
        "--Sources:0:Mappings:0:Fields:EnergyExport:Path=SML.Total_out", "--Sources:0:Mappings:0:Fields:EnergyExport:Unit=kWh",
        "--Sources:0:Mappings:1:Topic=solar/+/power", "--Sources:0:Mappings:1:Type=pv", "--Sources:0:Mappings:1:Device={1}", "--Sources:0:Mappings:1:Der={1}-pv",
        "--Sources:0:Mappings:1:Fields:ActivePower:Path=$", "--Sources:0:Mappings:1:Fields:ActivePower:Unit=kW", "--Sources:0:Mappings:1:Fields:ActivePower:Scale=-1",
        "--Sources:0:Mappings:2:Topic=solar/+/totals", "--Sources:0:Mappings:2:Type=pv", "--Sources:0:Mappings:2:Device={1}", "--Sources:0:Mappings:2:Der={1}-pv",
        "--Sources:0:Mappings:2:Fields:EnergyGenerated:Path=data[0].e", "--Sources:0:Mappings:2:Fields:EnergyGenerated:Unit=kWh",
    ];

    [Fact]
    public async Task Mapped_json_and_bare_numbers_reach_the_site_stream_with_the_mappings_units_and_signs()
    {
        await using var device = await MqttSourceHost.StartAsync("json", Mappings);
        var (host, client) = (device.Host, device.Client);
        var sml = (await File.ReadAllTextAsync(Path.Combine(Fixtures, "sml-SENSOR.json"))).Trim();
        var inverter = (await File.ReadAllLinesAsync(Path.Combine(Fixtures, "inverter-topics.tsv"))).Select(l => l.Split('\t')).Select(p => (Topic: p[0], Payload: p[1])).ToArray();
        (string Topic, string Payload)[] round = [("tele/stromzaehler/SENSOR", sml), .. inverter];

        // A first round makes the site and its DERs known; the stream then listens before the devices publish again.
        await client.PublishInOrderAsync(round);
        var hub = host.Service<TelemetryHub>();
        var pvDer = new DerAddress("acme", "home", "balcony", "balcony-pv");
        await Eventually.UntilAsync(() => hub.GetLast(pvDer)?.Reading.TryGetRaw(Quantity.EnergyGenerated, out _) == true, "the first round arrived");
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 200, TimeSpan.FromSeconds(30),
            until: item => (double?)JsonNode.Parse(item.Data)!["W"] == -1020); // the last message: 1.02 kW produced
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await client.PublishInOrderAsync([("tele/stromzaehler/SENSOR", """{"SML":{"Power_curr":"n/a"}}""")]); // malformed: skipped
        await client.PublishInOrderAsync([.. round, ("solar/balcony/power", "1.02")]);

        var readings = (await stream).Select(i => JsonNode.Parse(i.Data)!).ToArray();
        var meter = readings.Last(r => (string?)r["type"] == "meter");
        Assert.Equal("stromzaehler", (string?)meter["der_id"]);
        Assert.Equal("stromzaehler", (string?)meter["device_id"]);
        Assert.Equal(-6, (double)meter["W"]!); // exporting
        Assert.Equal(3_670_225, (double)meter["total_import_Wh"]!, 3); // 3670.2250 kWh
        Assert.Equal(85_567.9, (double)meter["total_export_Wh"]!, 3);

        var pv = readings.Last(r => (string?)r["type"] == "pv");
        Assert.Equal("balcony-pv", (string?)pv["der_id"]);
        Assert.Equal(-1020, (double)pv["W"]!, 6); // 1.02 kW production, − generation by Scale=-1
        Assert.Equal(1_234_500, (double)pv["total_generation_Wh"]!, 3); // still known from the totals topic

        Assert.Equal(1, (long)(await device.SourceAsync())["rejected"]!);
        await client.DisconnectAsync();
    }
}
