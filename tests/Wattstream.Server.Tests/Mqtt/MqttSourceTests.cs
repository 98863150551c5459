using System.Globalization;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The mqtt source kind against a real mosquitto: vendors' payloads published to the broker reach the hub's streams
/// with the right values and units; a wrong password, a broker restart, a device's last will, a malformed payload and
/// a TLS broker with the test's own CA.
/// </summary>
public sealed class MqttSourceTests
{
    private static readonly string Fixtures = Path.Combine(RepoFiles.Root, "tests", "Wattstream.Server.Tests", "Fixtures", "Mqtt");

    private static string[] Source(string url, string format, params string[] more) =>
    [
        "--Simulation:Enabled=false",
        "--SourceTiming:BackoffBase=00:00:00.050",
        "--SourceTiming:BackoffCap=00:00:00.500",
        "--SourceTiming:AuthFailedRetry=00:00:00.500",
        "--Sources:0:Id=mqtt", "--Sources:0:Kind=mqtt", $"--Sources:0:Url={url}", $"--Sources:0:Format={format}",
        "--Sources:0:Org=acme", "--Sources:0:Site=home",
        .. more,
    ];

    [Fact]
    public async Task Tasmota_plug_and_three_phase_meter_payloads_reach_the_site_stream_with_their_values_and_units()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var host = await WattstreamHost.StartAsync(Source(broker.Url, "tasmota"));
        await using var device = await PublisherAsync(broker);
        await WaitConnectedAsync(host);
        var plug = await File.ReadAllTextAsync(Path.Combine(Fixtures, "tasmota", "plug-SENSOR.json"));
        var meter = await File.ReadAllTextAsync(Path.Combine(Fixtures, "tasmota", "three-phase-SENSOR.json"));

        // The site exists once a first reading arrived; the stream then listens before the devices report again.
        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", plug);
        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/api/sites")).Contains("\"home\"", StringComparison.Ordinal), "the site is known");
        var hub = host.Service<TelemetryHub>();
        var subscribers = hub.Counters.Subscribers;
        var seen = new HashSet<string>();
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 10, TimeSpan.FromSeconds(30),
            until: i => seen.Add((string)JsonNode.Parse(i.Data)!["der_id"]!) && seen.Count == 2);
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", plug);
        await device.Client.PublishHeldAsync("tele/meter-3/SENSOR", meter);

        var readings = (await stream).Select(i => JsonNode.Parse(i.Data)!).ToArray();
        var p = readings.Last(r => (string?)r["der_id"] == "plug-1");
        Assert.Equal("meter", (string?)p["type"]);
        Assert.Equal("plug-1", (string?)p["device_id"]);
        Assert.Equal(5, (double)p["W"]!);
        Assert.Equal(5, (double)p["L1_W"]!);
        Assert.Equal(233, (double)p["L1_V"]!);
        Assert.Equal(0.021, (double)p["L1_A"]!);
        Assert.Equal(3705, (double)p["total_import_Wh"]!); // Tasmota's Total, 3.705 kWh
        var m = readings.Last(r => (string?)r["der_id"] == "meter-3");
        Assert.Equal(1, (double)m["W"]!); // the sum of the phases
        Assert.Equal([1.0, 0, 0], new[] { (double)m["L1_W"]!, (double)m["L2_W"]!, (double)m["L3_W"]! });
        Assert.Equal([230.0, 230, 230], new[] { (double)m["L1_V"]!, (double)m["L2_V"]!, (double)m["L3_V"]! });
        Assert.Equal(0.022, (double)m["L1_A"]!);
        Assert.Equal(50, (double)m["Hz"]!);
        Assert.Equal(0, (double)m["total_import_Wh"]!);

        // Units as the hub holds them, and what Tasmota sent beyond the model kept as extras.
        var last = hub.GetLast(new DerAddress("acme", "home", "plug-1", "plug-1"));
        Assert.NotNull(last);
        Assert.Equal(3.705, last!.Reading.Get(Quantity.EnergyImport, Unit.KilowattHour));
        Assert.Equal(5, last.Reading.Get(Quantity.ApparentPower, Unit.VoltAmpere));
        Assert.Equal(1.0, last.Reading.Get(Quantity.PowerFactor, Unit.None));
        Assert.Contains(last.Reading.Extras, e => e.Name == "Today" && e.RawText == "0.026");
        Assert.Equal("tasmota", last.Reading.ExtrasOrigin);
    }

    [Fact]
    public async Task A_wrong_password_is_AUTH_FAILED_and_the_right_one_connects_and_neither_is_shown()
    {
        await using var broker = await Mosquitto.StartAsync("hub", "s3cret-pass");
        await using var host = await WattstreamHost.StartAsync(Source(broker.Url, "tasmota",
            "--Sources:0:Username=hub", "--Sources:0:Password=wrong-pass",
            "--Sources:1:Id=right", "--Sources:1:Kind=mqtt", $"--Sources:1:Url={broker.Url}", "--Sources:1:Format=tasmota",
            "--Sources:1:Username=hub", "--Sources:1:Password=s3cret-pass"));

        await Eventually.UntilAsync(async () =>
        {
            var sources = JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray();
            return (string?)sources.Single(s => (string?)s!["id"] == "mqtt")!["status"] == "AUTH_FAILED"
                && (string?)sources.Single(s => (string?)s!["id"] == "right")!["status"] == "CONNECTED";
        }, "the wrong password refused, the right one connected");
        var body = await host.Client.GetStringAsync("/api/sources");
        Assert.DoesNotContain("wrong-pass", body, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pass", body, StringComparison.Ordinal);
        Assert.Contains("refused the user name or password", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_broker_restart_the_source_reconnects_and_the_retained_reading_is_not_published_again()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var device = await PublisherAsync(broker);
        // A retained reading from before the hub started, with the device's own time (UTC here): new to the hub.
        var deviceTime = DateTimeOffset.UtcNow.AddSeconds(-30);
        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", Sensor(deviceTime, 120), retain: true);
        await using var host = await WattstreamHost.StartAsync(Source(broker.Url, "tasmota", "--Sources:0:TimeZone=UTC"));
        var hub = host.Service<TelemetryHub>();
        var der = new DerAddress("acme", "home", "plug-1", "plug-1");
        await Eventually.UntilAsync(() => hub.Counters.Accepted == 1, "the retained reading arrived");
        Assert.Equal(deviceTime.ToUnixTimeSeconds() * 1000, hub.GetLast(der)!.Reading.Timestamp); // at the device's time

        await broker.RestartAsync(); // retained messages are persisted: the broker hands the same one over again
        await Eventually.UntilAsync(async () =>
        {
            var source = await SourceAsync(host);
            return (long)source["reconnects"]! >= 1 && (string?)source["status"] == "CONNECTED" && (long)source["events"]! == 2;
        }, "reconnected and given the retained reading again");
        await using var back = await PublisherAsync(broker); // the device reconnects too
        await back.Client.PublishHeldAsync("tele/plug-1/SENSOR", Sensor(DateTimeOffset.UtcNow, 240));
        await Eventually.UntilAsync(() => hub.Counters.Accepted == 2, "the next live reading arrived");

        Assert.Equal(240, hub.GetLast(der)!.Reading.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(0, hub.Counters.Duplicates); // the source itself did not send the retained reading again
        Assert.Equal(3, (long)(await SourceAsync(host))["events"]!);
    }

    [Fact]
    public async Task A_devices_last_will_is_its_status_and_a_malformed_payload_is_counted_and_skipped()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var host = await WattstreamHost.StartAsync(Source(broker.Url, "tasmota"));
        await using var device = await PublisherAsync(broker);
        await WaitConnectedAsync(host);
        var statuses = host.Service<StatusBoard>();
        var der = new DerAddress("acme", "home", "plug-1", "plug-1");

        await device.Client.PublishHeldAsync("tele/plug-1/LWT", "Online", retain: true);
        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", "{\"Time\":\"2022-01-11T21:57:38\",\"ENERGY\":{\"Power\":\"lots\"}}");
        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", "{not json");
        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", Sensor(DateTimeOffset.UtcNow, 42));
        var hub = host.Service<TelemetryHub>();
        await Eventually.UntilAsync(() => hub.GetLast(der) is not null, "the good reading after the bad ones arrived");
        Assert.Equal(42, hub.GetLast(der)!.Reading.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(ConnectionStatus.Connected, statuses.Get(der)?.Status);
        Assert.Equal(2, (long)(await SourceAsync(host))["rejected"]!);

        await device.Client.PublishHeldAsync("tele/plug-1/LWT", "Offline", retain: true); // as the broker sends a lost device's will
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Disconnected, "the plug is offline");
        Assert.Contains("offline", statuses.Get(der)!.Detail, StringComparison.Ordinal);
        Assert.Equal("CONNECTED", (string?)(await SourceAsync(host))["status"]); // the broker connection is fine

        await device.Client.PublishHeldAsync("tele/plug-1/LWT", "Online", retain: true);
        await Eventually.UntilAsync(() => statuses.Get(der)?.Status == ConnectionStatus.Connected, "the plug is back");
    }

    [Fact]
    public async Task A_tls_broker_is_trusted_through_the_configured_CA_file_and_not_without_it()
    {
        await using var broker = await Mosquitto.StartAsync(tls: true);
        await using var host = await WattstreamHost.StartAsync(Source(broker.TlsUrl, "tasmota", $"--Sources:0:CaFile={broker.CaFile}",
            "--Sources:1:Id=untrusting", "--Sources:1:Kind=mqtt", $"--Sources:1:Url={broker.TlsUrl}", "--Sources:1:Format=tasmota"));
        await using var device = await PublisherAsync(broker);
        await Eventually.UntilAsync(async () => (string?)(await SourceAsync(host))["status"] == "CONNECTED", "connected with TLS");

        await device.Client.PublishHeldAsync("tele/plug-1/SENSOR", Sensor(DateTimeOffset.UtcNow, 7));
        var hub = host.Service<TelemetryHub>();
        await Eventually.UntilAsync(() => hub.GetLast(new DerAddress("acme", "home", "plug-1", "plug-1")) is not null, "a reading over TLS");
        await Eventually.UntilAsync(async () => (long)(await SourceAsync(host, "untrusting"))["retries"]! >= 1, "the source without the CA tried");
        var untrusting = await SourceAsync(host, "untrusting");
        Assert.NotEqual("CONNECTED", (string?)untrusting["status"]); // the system's CAs do not know the test CA
    }

    private static string Sensor(DateTimeOffset time, double watts)
    {
        var at = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var w = watts.ToString(CultureInfo.InvariantCulture);
        return "{\"Time\":\"" + at + "\",\"ENERGY\":{\"Total\":1.5,\"Power\":" + w + ",\"Voltage\":230,\"Current\":0.5}}";
    }

    private static async Task WaitConnectedAsync(WattstreamHost host) =>
        await Eventually.UntilAsync(async () => (string?)(await SourceAsync(host))["status"] == "CONNECTED", "the mqtt source connected");

    private static async Task<JsonNode> SourceAsync(WattstreamHost host, string id = "mqtt") =>
        JsonNode.Parse(await host.Client.GetStringAsync("/api/sources"))!.AsArray().Single(s => (string?)s!["id"] == id)!;

    private static async Task<DisposableClient> PublisherAsync(Mosquitto broker)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId($"device-{Guid.NewGuid():N}");
        if (broker.Username is not null)
        {
            options.WithCredentials(broker.Username, broker.Password);
        }

        await client.ConnectAsync(options.Build());
        return new DisposableClient(client);
    }

    private sealed class DisposableClient(IMqttClient client) : IAsyncDisposable
    {
        public IMqttClient Client { get; } = client;

        public async ValueTask DisposeAsync()
        {
            if (Client.IsConnected)
            {
                await Client.DisconnectAsync();
            }

            Client.Dispose();
        }
    }
}
