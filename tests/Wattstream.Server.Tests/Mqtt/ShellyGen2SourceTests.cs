using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>The shelly-gen2 format through a real mosquitto: a Pro 3EM's status and energy notification, then its last will.</summary>
public sealed class ShellyGen2SourceTests
{
    private const string Prefix = "shellypro3em-0cb815fcaff4";
    private static readonly string Fixtures = Path.Combine(RepoFiles.Root, "tests", "Wattstream.Server.Tests", "Fixtures", "Mqtt", "shelly-gen2");

    [Fact]
    public async Task A_pro_3em_status_and_energy_notification_reach_the_site_stream_and_its_last_will_is_its_status()
    {
        await using var device = await MqttSourceHost.StartAsync("shelly-gen2");
        var (host, client) = (device.Host, device.Client);
        var status = await File.ReadAllTextAsync(Path.Combine(Fixtures, "pro3em-status-em0.json"));
        var energy = await File.ReadAllTextAsync(Path.Combine(Fixtures, "pro3em-events-rpc-emdata.json"));

        // The site exists once a first reading arrived; the stream then listens before the device reports again.
        await client.PublishHeldAsync($"{Prefix}/status/em:0", status);
        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/api/sites")).Contains("\"home\"", StringComparison.Ordinal), "the site is known");
        var hub = host.Service<TelemetryHub>();
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 10, TimeSpan.FromSeconds(30),
            until: i => JsonNode.Parse(i.Data)!["total_import_Wh"] is not null);
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await client.PublishHeldAsync($"{Prefix}/status/em:0", status);
        await client.PublishHeldAsync($"{Prefix}/events/rpc", energy);

        var readings = (await stream).Select(i => JsonNode.Parse(i.Data)!).Where(r => (string?)r["der_id"] == Prefix).ToArray();
        var power = readings.First(r => r["W"] is not null);
        Assert.Equal("meter", (string?)power["type"]);
        Assert.Equal(Prefix, (string?)power["device_id"]);
        Assert.Equal(715.1, (double)power["W"]!);
        Assert.Equal([951.2, -951.1, 715.0], new[] { (double)power["L1_W"]!, (double)power["L2_W"]!, (double)power["L3_W"]! });
        Assert.Equal([236.1, 236.2, 236.3], new[] { (double)power["L1_V"]!, (double)power["L2_V"]!, (double)power["L3_V"]! });
        Assert.Equal([4.029, 4.027, 3.03], new[] { (double)power["L1_A"]!, (double)power["L2_A"]!, (double)power["L3_A"]! });
        var registers = readings.Last();
        Assert.Equal(5277.01, (double)registers["total_import_Wh"]!);
        Assert.Equal(2768.27, (double)registers["total_export_Wh"]!);

        var der = new DerAddress("acme", "home", Prefix, Prefix);
        var last = hub.GetLast(der)!;
        Assert.Equal(5.27701, last.Reading.Get(Quantity.EnergyImport, Unit.KilowattHour)!.Value, 9);
        Assert.Equal("shelly-gen2", last.Reading.ExtrasOrigin);

        var statuses = host.Service<StatusBoard>();
        await client.PublishHeldAsync($"{Prefix}/online", "false", retain: true); // as the broker sends a lost device's will
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Disconnected, "the meter is offline");
        await client.PublishHeldAsync($"{Prefix}/online", "true", retain: true);
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Connected, "the meter is back");
    }
}
