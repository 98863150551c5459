using System.Text.Json.Nodes;
using MQTTnet;

namespace Wattstream.Server.Tests;

/// <summary>
/// A hub reading one mqtt source (<c>Id=device</c>, org <c>acme</c>, site <c>home</c>) of a format through a real
/// mosquitto of its own, and an MQTT client standing for the devices; ready once the source is CONNECTED.
/// </summary>
internal sealed class MqttSourceHost : IAsyncDisposable
{
    public const string SourceId = "device";

    private MqttSourceHost(Mosquitto broker, WattstreamHost host, IMqttClient client)
    {
        Broker = broker;
        Host = host;
        Client = client;
    }

    public Mosquitto Broker { get; }

    public WattstreamHost Host { get; }

    /// <summary>The devices' connection to the broker.</summary>
    public IMqttClient Client { get; }

    public static async Task<MqttSourceHost> StartAsync(string format, params string[] more)
    {
        var broker = await Mosquitto.StartAsync();
        var host = await WattstreamHost.StartAsync(
        [
            "--Simulation:Enabled=false",
            $"--Sources:0:Id={SourceId}", "--Sources:0:Kind=mqtt", $"--Sources:0:Url={broker.Url}", $"--Sources:0:Format={format}",
            "--Sources:0:Org=acme", "--Sources:0:Site=home", .. more,
        ]);
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId($"device-{Guid.NewGuid():N}").Build());
        var started = new MqttSourceHost(broker, host, client);
        await Eventually.UntilAsync(async () => (string?)(await started.SourceAsync())["status"] == "CONNECTED", "the mqtt source connected");
        return started;
    }

    /// <summary>The source as <c>/api/sources</c> shows it.</summary>
    public async Task<JsonNode> SourceAsync() =>
        JsonNode.Parse(await Host.Client.GetStringAsync("/api/sources"))!.AsArray().Single(s => (string?)s!["id"] == SourceId)!;

    public async ValueTask DisposeAsync()
    {
        if (Client.IsConnected)
        {
            await Client.DisconnectAsync();
        }

        Client.Dispose();
        await Host.DisposeAsync();
        await Broker.DisposeAsync();
    }
}
