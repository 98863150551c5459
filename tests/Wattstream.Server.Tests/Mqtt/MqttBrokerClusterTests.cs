using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Mqtt.Broker;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The embedded MQTT broker in cluster mode (<c>Nats:Cluster=true</c>, a real nats-server): every node runs it; a device
/// logged in to one node has its readings on every node, through the shared log as a push's are.
/// </summary>
public sealed class MqttBrokerClusterTests : IAsyncLifetime
{
    private static readonly string[] Broker =
    [
        "--Mqtt:Listen=mqtt://127.0.0.1:0", "--Mqtt:Devices:0:Username=plug-1", "--Mqtt:Devices:0:Password=pl4g-s3cret",
        "--Mqtt:Devices:0:Org=acme", "--Mqtt:Devices:0:Site=home", "--Mqtt:Devices:0:Format=tasmota",
    ];

    private NatsServer _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, Broker);
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private static async Task<JsonNode> DeviceAsync(WattstreamHost node) =>
        JsonNode.Parse(await node.Client.GetStringAsync("/api/sources"))!.AsArray().Single(s => (string?)s!["id"] == "plug-1")!;

    [Fact]
    public async Task A_device_on_node_A_has_its_readings_on_node_B_and_is_owned_by_node_A()
    {
        await using var a = await _nodes.StartAsync("node-a");
        await using var b = await _nodes.StartAsync("node-b");
        using var device = new MqttClientFactory().CreateMqttClient();
        var connected = await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", a.Service<MqttBroker>().Endpoint!.Port)
            .WithClientId("plug-1").WithCredentials("plug-1", "pl4g-s3cret").Build());
        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);

        var sensor = await File.ReadAllTextAsync(RepoFiles.MqttFixture("tasmota", "plug-SENSOR.json"));
        await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("tele/plug-1/SENSOR").WithPayload(sensor).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        var der = new DerAddress("acme", "home", "plug-1", "plug-1");
        await Eventually.UntilAsync(() => b.Service<TelemetryHub>().GetLast(der) is not null, "node B has the reading from the shared log");
        Assert.Equal(5, b.Service<TelemetryHub>().GetLast(der)!.Reading.Get(Quantity.ActivePower, Unit.Watt));
        await Eventually.UntilAsync(() => a.Service<TelemetryHub>().GetLast(der) is not null, "node A has it the same way");

        var onA = await DeviceAsync(a);
        var onB = await DeviceAsync(b);
        Assert.Equal("CONNECTED", (string?)onA["status"]);
        Assert.Equal("node-a", (string?)onA["owner"]);
        Assert.Equal("DISCONNECTED", (string?)onB["status"]); // not logged in there
        Assert.Null(onB["owner"]);
        await device.DisconnectAsync();
    }
}
