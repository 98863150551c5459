using System.Net;
using System.Text;
using System.Text.Json;
using Wattstream.Mqtt.Publishing;
using Wattstream.Nats.Cluster;

namespace Wattstream.Server.Tests.MqttPublishing;

/// <summary>
/// MQTT publishing in a cluster is the job <c>publish:mqtt</c>: every node carries the same <c>Mqtt:Publish</c>
/// settings, one connection publishes each state once, and when its node stops another takes over from the present,
/// saying online again and announcing the discovery configs on its own connection.
/// </summary>
public sealed class ClusterMqttPublishingTests : IAsyncLifetime
{
    private const string State = "wattstream/home/house/grid/state";
    private NatsServer _nats = null!;
    private Mosquitto _broker = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _broker = await Mosquitto.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, $"--Mqtt:Publish:Url={_broker.Url}", "--Nats:LeaseTtl=00:00:02");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _broker.DisposeAsync();
        await _nats.DisposeAsync();
    }

    private static bool Publishes(WattstreamHost node) => node.Service<ClusterNode>().Owned.Contains(MqttPublisher.JobKey);

    [Fact]
    public async Task One_node_publishes_each_state_once_and_another_takes_over_when_it_stops()
    {
        WattstreamHost[] nodes = [await _nodes.StartAsync("node-a"), await _nodes.StartAsync("node-b")];
        // The job settles with its rendezvous owner among the two (the first node may hold it until the second joins).
        var chosen = Rendezvous.Owner(MqttPublisher.JobKey, ["node-a", "node-b"]);
        await Eventually.UntilAsync(
            () => nodes.All(n => n.Service<ClusterNode>().Coordinator?.Membership.LiveNodes == 2) && nodes.Count(Publishes) == 1 && Publishes(nodes.Single(n => n.Service<ClusterNode>().Node == chosen)),
            "the publishing job held by its owner among both nodes");
        var owner = nodes.Single(Publishes);
        await using var watcher = await BrokerWatcher.StartAsync(_broker, "wattstream/#", "homeassistant/#");
        var other = nodes.Single(n => n != owner);
        await Eventually.UntilAsync(() => watcher.Last("wattstream/status")?.Payload == "online", "the owner's availability online");

        // Pushed to the node that does not publish: the owner publishes what reaches it through the readings stream.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 1; i <= 5; i++)
        {
            await PushAsync(other, now + i, 100 * i);
        }

        await Eventually.UntilAsync(() => W(watcher.Last(State)) == 500, "the fifth state");
        Assert.Equal([100, 200, 300, 400, 500], watcher.Messages.Where(m => m.Topic == State).Select(W)); // once each, in order
        Assert.Single(watcher.Messages, m => m.Topic == "wattstream/status"); // one connection: online, retained or live
        Assert.Single(watcher.Messages, m => m.Topic.EndsWith("_power/config", StringComparison.Ordinal));

        // The owner stops: it says offline and leaves; the other node takes over, says online, starts from the present
        // (the last state again, with its discovery config on the new connection) and publishes what comes next.
        await owner.DisposeAsync();
        await Eventually.UntilAsync(() => Publishes(other), "the other node to take the publishing job");
        await Eventually.UntilAsync(() => watcher.Messages.Count(m => m.Topic == "wattstream/status") == 3, "offline, then online again");
        Assert.Equal(["online", "offline", "online"], watcher.Messages.Where(m => m.Topic == "wattstream/status").Select(m => m.Payload));
        await Eventually.UntilAsync(() => watcher.Messages.Count(m => m.Topic.EndsWith("_power/config", StringComparison.Ordinal)) == 2, "the config announced again by the new holder");

        await PushAsync(other, now + 6, 600);
        await Eventually.UntilAsync(() => W(watcher.Last(State)) == 600, "the state published by the new holder");
        var states = watcher.Messages.Where(m => m.Topic == State).Select(W).ToArray();
        Assert.Equal([100, 200, 300, 400, 500], states[..5]);
        Assert.All(states[5..^1], w => Assert.Equal(500, w)); // the present the new holder started from, nothing older
    }

    private static double? W(BrokerMessage? message) =>
        message is null ? null : JsonDocument.Parse(message.Payload).RootElement.GetProperty("W").GetDouble();

    private static async Task PushAsync(WattstreamHost node, long timestamp, int watts)
    {
        var json = $$"""{"org":"home","site":"house","device":"gw","der":"grid","type":"meter","timestamp":{{timestamp}},"W":{{watts}},"total_import_Wh":{{1000 + watts}}}""";
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await node.Client.PostAsync("/api/readings", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
