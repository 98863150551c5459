using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Mqtt.Broker;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Tls;

namespace Wattstream.Server.Tests;

/// <summary>
/// The embedded MQTT broker (<c>Mqtt:Listen</c>) with real MQTTnet clients on loopback standing for the devices: a
/// device's login maps it to its org and site, its messages take the mqtt source's path into the hub, and it can
/// neither publish under nor read another device's topics; the start refusal without devices, TLS, and the publish rate.
/// </summary>
public sealed class MqttBrokerTests : IDisposable
{
    private static readonly string Fixtures = RepoFiles.Path("tests", "Wattstream.Server.Tests", "Fixtures", "Mqtt");
    private readonly string _folder = Directory.CreateTempSubdirectory("wattstream-broker-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string[] Device(int i, string username, string password, string org, string site, string format = "tasmota") =>
    [
        $"--Mqtt:Devices:{i}:Username={username}", $"--Mqtt:Devices:{i}:Password={password}",
        $"--Mqtt:Devices:{i}:Org={org}", $"--Mqtt:Devices:{i}:Site={site}", $"--Mqtt:Devices:{i}:Format={format}",
    ];

    private static Task<WattstreamHost> StartAsync(params string[] more) =>
        WattstreamHost.StartAsync(["--Simulation:Enabled=false", "--Mqtt:Listen=mqtt://127.0.0.1:0", .. more]);

    private static int Port(WattstreamHost host) => host.Service<MqttBroker>().Endpoint!.Port;

    private static async Task<(IMqttClient Client, MqttClientConnectResult Result)> ConnectAsync(
        int port, string? username, string? password, MqttProtocolVersion version = MqttProtocolVersion.V311, Action<MqttClientOptionsBuilder>? more = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"device-{Guid.NewGuid():N}").WithProtocolVersion(version).WithTimeout(TimeSpan.FromSeconds(10));
        if (username is not null)
        {
            options.WithCredentials(username, password);
        }

        more?.Invoke(options);
        var result = await client.ConnectAsync(options.Build());
        return (client, result);
    }

    private static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, string payload) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    private static async Task<JsonNode> SourceAsync(WattstreamHost host, string id, string? token = null) =>
        JsonNode.Parse(await host.Client.GetStringAsync("/api/sources" + (token is null ? "" : $"?access_token={Uri.EscapeDataString(token)}")))!.AsArray().Single(s => (string?)s!["id"] == id)!;

    private static Task<string> Plug() => File.ReadAllTextAsync(Path.Combine(Fixtures, "tasmota", "plug-SENSOR.json"));

    [Fact]
    public async Task A_device_with_its_credentials_reaches_its_site_stream_and_a_wrong_password_is_refused()
    {
        await using var host = await StartAsync(Device(0, "plug-1", "pl4g-s3cret", "acme", "home"));
        var port = Port(host);
        Assert.Equal("DISCONNECTED", (string?)(await SourceAsync(host, "plug-1"))["status"]); // configured, not logged in yet

        var (refused, refusedResult) = await ConnectAsync(port, "plug-1", "wrong-pass");
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, refusedResult.ResultCode);
        Assert.False(refused.IsConnected);
        refused.Dispose();
        var (anonymous, anonymousResult) = await ConnectAsync(port, null, null);
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, anonymousResult.ResultCode);
        anonymous.Dispose();
        Assert.Equal(2, host.Service<MqttBroker>().Counters.LoginsRefused);

        var (device, result) = await ConnectAsync(port, "plug-1", "pl4g-s3cret");
        using var _ = device;
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        var source = await SourceAsync(host, "plug-1");
        Assert.Equal("CONNECTED", (string?)source["status"]);
        Assert.Equal("mqtt-device", (string?)source["kind"]);

        // The site exists once a first reading arrived; the stream then listens before the device reports again.
        var plug = await Plug();
        await PublishAsync(device, "tele/plug-1/SENSOR", plug);
        var hub = host.Service<TelemetryHub>();
        var der = new DerAddress("acme", "home", "plug-1", "plug-1");
        await Eventually.UntilAsync(() => hub.GetLast(der) is not null, "the first reading arrived");
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, "/stream/sites/home", 5, TimeSpan.FromSeconds(30), until: i => (string?)JsonNode.Parse(i.Data)!["der_id"] == "plug-1");
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "the stream is subscribed");
        await PublishAsync(device, "tele/plug-1/SENSOR", plug);

        var reading = JsonNode.Parse((await stream).Last().Data)!;
        Assert.Equal("meter", (string?)reading["type"]);
        Assert.Equal(5, (double)reading["W"]!);
        Assert.Equal(233, (double)reading["L1_V"]!);
        Assert.Equal(3705, (double)reading["total_import_Wh"]!); // Tasmota's Total, 3.705 kWh
        Assert.Equal("tasmota", hub.GetLast(der)!.Reading.ExtrasOrigin);

        // A malformed payload is counted and skipped, as the mqtt source does; the device stays connected.
        await PublishAsync(device, "tele/plug-1/SENSOR", "{not json");
        await Eventually.UntilAsync(async () => (long)(await SourceAsync(host, "plug-1"))["rejected"]! == 1, "the malformed message counted");
        Assert.True(device.IsConnected);

        var body = await host.Client.GetStringAsync("/api/sources");
        Assert.DoesNotContain("pl4g-s3cret", body, StringComparison.Ordinal);
        Assert.Contains("acme.sites.home", body, StringComparison.Ordinal); // its DER, as a source lists its DERs

        await Eventually.UntilAsync(() => host.Service<StatusBoard>().Get(der) is { LastSeen: not null }, "the status board has seen its readings");
        await device.DisconnectAsync();
        await Eventually.UntilAsync(async () => (string?)(await SourceAsync(host, "plug-1"))["status"] == "DISCONNECTED", "the device left");
        Assert.Equal(ConnectionStatus.Disconnected, host.Service<StatusBoard>().Get(der)?.Status);
    }

    [Fact]
    public async Task A_device_can_neither_publish_under_nor_subscribe_to_another_devices_topics()
    {
        await using var host = await StartAsync([.. Device(0, "plug-a", "secret-a", "acme", "home"), .. Device(1, "plug-b", "secret-b", "acme", "home")]);
        var port = Port(host);
        var (a, _) = await ConnectAsync(port, "plug-a", "secret-a", MqttProtocolVersion.V500);
        var (b, _) = await ConnectAsync(port, "plug-b", "secret-b");
        using var deviceA = a;
        using var deviceB = b;
        var received = 0;
        a.ApplicationMessageReceivedAsync += _ =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        };
        var hub = host.Service<TelemetryHub>();
        var derB = new DerAddress("acme", "home", "plug-b", "plug-b");
        var plug = await Plug();

        // A publishing on B's topic: refused (MQTT 5 says so in the PUBACK), counted, and nothing reaches B's DER.
        var spoof = await PublishAsync(a, "tele/plug-b/SENSOR", plug);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoof.ReasonCode);
        var own = await PublishAsync(a, "tele/plug-a/SENSOR", plug);
        Assert.Equal(MqttClientPublishReasonCode.Success, own.ReasonCode);
        await Eventually.UntilAsync(() => hub.GetLast(new DerAddress("acme", "home", "plug-a", "plug-a")) is not null, "A's own reading arrived");
        Assert.Null(hub.GetLast(derB));
        var broker = host.Service<MqttBroker>();
        var stateA = broker.Devices.Single(d => d.Options.Username == "plug-a");
        Assert.Equal(1, stateA.RefusedPublishes);
        Assert.Equal(1, (long)(await SourceAsync(host, "plug-a"))["rejected"]!);

        // A subscribing to B's topics (or everything) is refused; its own topics are granted, and carry nothing of B's.
        var subscribed = await a.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("tele/plug-b/#").WithTopicFilter("#").WithTopicFilter("tele/+/SENSOR").WithTopicFilter("tele/plug-a/#").Build());
        var codes = subscribed.Items.ToDictionary(i => i.TopicFilter.Topic, i => i.ResultCode);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, codes["tele/plug-b/#"]);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, codes["#"]);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, codes["tele/+/SENSOR"]);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, codes["tele/plug-a/#"]);
        Assert.Equal(3, stateA.RefusedSubscriptions);

        await PublishAsync(b, "tele/plug-b/SENSOR", plug);
        await PublishAsync(a, "tele/plug-a/SENSOR", plug); // even its own messages are not forwarded: the hub is the only reader
        await Eventually.UntilAsync(() => hub.GetLast(derB) is not null, "B's own reading arrived");
        Assert.Equal(0, Volatile.Read(ref received));
        Assert.Equal(0, broker.Devices.Single(d => d.Options.Username == "plug-b").RefusedPublishes);
    }

    [Fact]
    public async Task A_device_of_one_org_never_shows_a_reading_to_a_caller_of_another()
    {
        await using var host = await AuthTests.StartTokenHostAsync(
        [
            "--Simulation:Enabled=false", "--Mqtt:Listen=mqtt://127.0.0.1:0",
            .. Device(0, "meter-x", "secret-x", "org-x", "home"), .. Device(1, "meter-y", "secret-y", "org-y", "home"),
        ]);
        var port = Port(host);
        var (x, _) = await ConnectAsync(port, "meter-x", "secret-x");
        var (y, _) = await ConnectAsync(port, "meter-y", "secret-y");
        using var deviceX = x;
        using var deviceY = y;
        var hub = host.Service<TelemetryHub>();
        var plug = await Plug();
        await PublishAsync(y, "tele/meter-y/SENSOR", plug);
        await Eventually.UntilAsync(() => hub.GetLast(new DerAddress("org-y", "home", "meter-y", "meter-y")) is not null, "Y's first reading");

        var token = AuthTests.Token(orgs: "org-y");
        var subscribers = hub.Counters.Subscribers;
        var stream = SseClient.ReadAsync(host.Client, $"/stream/sites/home?access_token={Uri.EscapeDataString(token)}", 20, TimeSpan.FromSeconds(30),
            until: i => (string?)JsonNode.Parse(i.Data)!["der_id"] == "meter-y");
        await Eventually.UntilAsync(() => hub.Counters.Subscribers > subscribers, "Y's caller is subscribed");
        await PublishAsync(x, "tele/meter-x/SENSOR", plug); // X first: the stream would show it before Y's next
        await Eventually.UntilAsync(() => hub.GetLast(new DerAddress("org-x", "home", "meter-x", "meter-x")) is not null, "X's reading is in the hub");
        await PublishAsync(y, "tele/meter-y/SENSOR", plug);

        var seen = (await stream).Select(i => (string?)JsonNode.Parse(i.Data)!["der_id"]).ToArray();
        Assert.Contains("meter-y", seen);
        Assert.DoesNotContain("meter-x", seen);
        using var sites = await host.Client.SendAsync(AuthTests.Request(HttpMethod.Get, "/api/sites", token));
        var listed = await sites.Content.ReadAsStringAsync();
        Assert.Contains("org-y", listed, StringComparison.Ordinal);
        Assert.DoesNotContain("org-x", listed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqtt://0.0.0.0:1883", "reachable from other machines")]
    [InlineData("mqtt://127.0.0.1:1883", "has no device to accept")]
    public async Task A_listener_without_device_credentials_stops_the_start(string listen, string message)
    {
        // Nothing connects here: the start stops before the broker binds.
        var (exitCode, output, errors) = await WattstreamProcess.RunAsync(
            ["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={_folder}", "--Simulation:Enabled=false", $"--Mqtt:Listen={listen}"]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, output + errors, StringComparison.Ordinal);
        Assert.Contains("Mqtt:Devices:0:Username", output + errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_device_settings_stop_the_start_with_a_message_naming_them()
    {
        var (exitCode, output, errors) = await WattstreamProcess.RunAsync(
            ["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={_folder}", "--Simulation:Enabled=false", "--Mqtt:Listen=mqtt://127.0.0.1:0",
                .. Device(0, "plug", "hunter2-pass", "acme", "home", format: "tasmoto"), .. Device(1, "plug", "other-pass", "acme", "home"), "--Mqtt:Devices:1:Topics:0=tele/#/x"]);

        Assert.NotEqual(0, exitCode);
        var said = output + errors;
        Assert.Contains("Devices:0:Format", said, StringComparison.Ordinal);
        Assert.Contains("two devices log in as 'plug'", said, StringComparison.Ordinal);
        Assert.Contains("Devices:1:Topics", said, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-pass", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tls_listener_serves_devices_that_trust_its_CA_and_refuses_plain_connections()
    {
        var (certificate, key, ca) = WriteCertificates();
        await using var host = await WattstreamHost.StartAsync(
        [
            "--Simulation:Enabled=false", "--Mqtt:Listen=mqtts://127.0.0.1:0", $"--Mqtt:Certificate:Path={certificate}", $"--Mqtt:Certificate:KeyPath={key}",
            .. Device(0, "plug-1", "pl4g-s3cret", "acme", "home"),
        ]);
        var port = Port(host);
        using var trusted = PrivateCa.FromPemFile(ca)!;

        var (device, result) = await ConnectAsync(port, "plug-1", "pl4g-s3cret", more: o => o.WithTlsOptions(t => t.UseTls().WithCertificateValidationHandler(e => trusted.Trusts(e.Certificate, e.SslPolicyErrors))));
        using var _ = device;
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        await PublishAsync(device, "tele/plug-1/SENSOR", await Plug());
        var hub = host.Service<TelemetryHub>();
        await Eventually.UntilAsync(() => hub.GetLast(new DerAddress("acme", "home", "plug-1", "plug-1")) is not null, "a reading over TLS");

        // MQTT without TLS on the TLS port: the handshake fails, no session.
        var plain = new MqttClientFactory().CreateMqttClient();
        using var __ = plain;
        await Assert.ThrowsAnyAsync<Exception>(() => plain.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port)
            .WithCredentials("plug-1", "pl4g-s3cret").WithTimeout(TimeSpan.FromSeconds(5)).Build()));
        Assert.False(plain.IsConnected);
    }

    [Fact]
    public async Task A_device_publishing_beyond_its_rate_has_the_excess_dropped_and_counted()
    {
        const int sent = 20;
        const int burst = 3;
        const double perSecond = 0.001; // one more message per 1000 s: none within this test
        var started = TimeProvider.System.GetTimestamp();
        await using var host = await StartAsync(
        [
            $"--Mqtt:PublishesPerSecond={perSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)}", $"--Mqtt:PublishBurst={burst}",
            .. Device(0, "plug-1", "pl4g-s3cret", "acme", "home"),
        ]);
        var (device, _) = await ConnectAsync(Port(host), "plug-1", "pl4g-s3cret", MqttProtocolVersion.V500);
        using var _ = device;

        var codes = new List<MqttClientPublishReasonCode>();
        for (var i = 0; i < sent; i++)
        {
            // Each its own Power, so the readings differ; the hub drops none as a duplicate of the one before.
            codes.Add((await PublishAsync(device, "tele/plug-1/SENSOR", $"{{\"ENERGY\":{{\"Power\":{i},\"Total\":1.5}}}}")).ReasonCode);
        }

        var elapsed = TimeProvider.System.GetElapsedTime(started);
        var allowed = burst + (int)(elapsed.TotalSeconds * perSecond);
        var passed = codes.Count(c => c == MqttClientPublishReasonCode.Success);
        Assert.InRange(passed, burst, allowed);
        Assert.Equal(sent - passed, codes.Count(c => c == MqttClientPublishReasonCode.QuotaExceeded));
        var state = host.Service<MqttBroker>().Devices.Single();
        Assert.Equal(sent - passed, state.RateLimited);
        Assert.Equal(passed, state.State.Events);
        Assert.Equal(sent - passed, (long)(await SourceAsync(host, "plug-1"))["rejected"]!);
        Assert.True(host.Service<TelemetryHub>().Counters.Accepted <= passed);
        Assert.True(device.IsConnected); // dropped, not disconnected
    }

    [Fact]
    public async Task A_device_whose_connection_is_lost_is_DISCONNECTED_and_its_last_will_is_read_as_a_sources_is()
    {
        await using var host = await StartAsync(Device(0, "plug-1", "pl4g-s3cret", "acme", "home"));
        var (device, _) = await ConnectAsync(Port(host), "plug-1", "pl4g-s3cret", more: o => o.WithWillTopic("tele/plug-1/LWT").WithWillPayload("Offline").WithWillRetain());
        var der = new DerAddress("acme", "home", "plug-1", "plug-1");
        var statuses = host.Service<StatusBoard>();
        await PublishAsync(device, "tele/plug-1/LWT", "Online");
        await PublishAsync(device, "tele/plug-1/SENSOR", await Plug());
        // The status board has seen the reading too (its tracker reads the hub's feed on its own), so nothing later flips it back.
        await Eventually.UntilAsync(() => statuses.Get(der) is { Status: ConnectionStatus.Connected, LastSeen: not null }, "the plug is online and its reading seen");

        device.Dispose(); // the connection drops without a DISCONNECT: the broker publishes the will
        await Eventually.UntilAsync(async () => (string?)(await SourceAsync(host, "plug-1"))["status"] == "DISCONNECTED", "the device's connection was lost");
        var source = await SourceAsync(host, "plug-1");
        Assert.Equal(3, (long)source["events"]!); // Online, the reading, and the will
        Assert.Equal(0, (long)source["rejected"]!);
        Assert.Equal(1, (long)source["reconnects"]!);
        Assert.Contains("connection was lost", (string?)source["lastError"], StringComparison.Ordinal);
        Assert.Equal(ConnectionStatus.Disconnected, statuses.Get(der)?.Status);
    }

    [Fact]
    public async Task A_second_login_of_a_device_replaces_the_first_connection()
    {
        await using var host = await StartAsync(Device(0, "plug-1", "pl4g-s3cret", "acme", "home"));
        var port = Port(host);
        var (first, _) = await ConnectAsync(port, "plug-1", "pl4g-s3cret");
        using var _ = first;
        var (second, result) = await ConnectAsync(port, "plug-1", "pl4g-s3cret");
        using var __ = second;

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        await Eventually.UntilAsync(() => !first.IsConnected, "the first connection was closed");
        await PublishAsync(second, "tele/plug-1/SENSOR", await Plug());
        await Eventually.UntilAsync(() => host.Service<TelemetryHub>().GetLast(new DerAddress("acme", "home", "plug-1", "plug-1")) is not null, "the new connection's reading");
        var device = host.Service<MqttBroker>().Devices.Single();
        Assert.Equal(second.Options.ClientId, device.ClientId);
        Assert.Equal("CONNECTED", (string?)(await SourceAsync(host, "plug-1"))["status"]); // the replaced connection's end changed nothing
    }

    [Fact]
    public async Task Connections_beyond_the_limit_per_address_are_closed_and_counted()
    {
        await using var host = await StartAsync(["--Mqtt:MaxConnectionsPerAddress=2", .. Device(0, "plug-1", "secret-1", "acme", "home"), .. Device(1, "plug-2", "secret-2", "acme", "home"), .. Device(2, "plug-3", "secret-3", "acme", "home")]);
        var port = Port(host);
        var (one, _) = await ConnectAsync(port, "plug-1", "secret-1");
        var (two, _) = await ConnectAsync(port, "plug-2", "secret-2");
        using var _ = one;
        using var __ = two;

        using var third = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithCredentials("plug-3", "secret-3").WithTimeout(TimeSpan.FromSeconds(10)).Build();
        await Assert.ThrowsAnyAsync<Exception>(() => third.ConnectAsync(options));
        var broker = host.Service<MqttBroker>();
        Assert.Equal(1, broker.Counters.ConnectionsRefused);
        Assert.Equal("DISCONNECTED", (string?)(await SourceAsync(host, "plug-3"))["status"]);

        await one.DisconnectAsync();
        await Eventually.UntilAsync(async () =>
        {
            using var retry = new MqttClientFactory().CreateMqttClient();
            try
            {
                return (await retry.ConnectAsync(options)).ResultCode == MqttClientConnectResultCode.Success;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or IOException)
            {
                return false; // closed at once: the place was not free yet
            }
        }, "a place freed by a closed connection is taken");
    }

    [Fact]
    public async Task An_oversized_payload_is_skipped_and_a_packet_far_over_the_limit_closes_its_connection()
    {
        await using var host = await StartAsync(["--Mqtt:MaxMessageBytes=1024", .. Device(0, "plug-1", "pl4g-s3cret", "acme", "home")]);
        var (device, _) = await ConnectAsync(Port(host), "plug-1", "pl4g-s3cret");
        using var _ = device;

        // Over MaxMessageBytes but within the packet limit: counted and skipped, the device stays.
        await PublishAsync(device, "tele/plug-1/SENSOR", "{\"ENERGY\":{\"Power\":1},\"pad\":\"" + new string('x', 2000) + "\"}");
        await Eventually.UntilAsync(async () => (long)(await SourceAsync(host, "plug-1"))["rejected"]! == 1, "the oversized message counted");
        Assert.True(device.IsConnected);

        // Over the packet limit (MaxMessageBytes + 4 KiB): the connection ends before the packet is read.
        try
        {
            await PublishAsync(device, "tele/plug-1/SENSOR", new string('x', 64 * 1024));
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or IOException)
        {
            // The connection may close while the publish is written or waits for its PUBACK.
        }

        await Eventually.UntilAsync(() => !device.IsConnected, "the connection was closed");
        Assert.Equal(1, host.Service<MqttBroker>().Counters.OversizedPackets);
        Assert.Null(host.Service<TelemetryHub>().GetLast(new DerAddress("acme", "home", "plug-1", "plug-1")));
    }

    // A CA of the test's own and a certificate for 127.0.0.1 it signed, as PEM files (the way Mosquitto's fixture makes them).
    private (string Certificate, string Key, string Ca) WriteCertificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Wattstream broker test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(16));

        var paths = (Path.Combine(_folder, "broker.pem"), Path.Combine(_folder, "broker.key"), Path.Combine(_folder, "ca.pem"));
        File.WriteAllText(paths.Item1, server.ExportCertificatePem());
        File.WriteAllText(paths.Item2, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(paths.Item3, ca.ExportCertificatePem());
        return paths;
    }
}
