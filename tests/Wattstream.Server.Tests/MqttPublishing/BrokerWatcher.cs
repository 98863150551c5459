using System.Collections.Concurrent;
using System.Text;
using MQTTnet;

namespace Wattstream.Server.Tests.MqttPublishing;

/// <summary>
/// A client of the test's broker that keeps every message it receives under a topic filter, retained ones marked (what a
/// broker holds for a new subscriber), as Home Assistant would see them.
/// </summary>
internal sealed class BrokerWatcher : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly ConcurrentQueue<BrokerMessage> _messages = new();

    private BrokerWatcher(IMqttClient client) => _client = client;

    public IReadOnlyList<BrokerMessage> Messages => [.. _messages];

    public static async Task<BrokerWatcher> StartAsync(Mosquitto broker, params string[] filters)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var watcher = new BrokerWatcher(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            var message = e.ApplicationMessage;
            watcher._messages.Enqueue(new BrokerMessage(message.Topic, Encoding.UTF8.GetString(message.Payload), message.Retain));
            return Task.CompletedTask;
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId($"watcher-{Guid.NewGuid():N}").WithCleanSession().Build(), timeout.Token);
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            subscribe.WithTopicFilter(filter, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await client.SubscribeAsync(subscribe.Build(), timeout.Token);
        return watcher;
    }

    /// <summary>The newest message on <paramref name="topic"/>, or null.</summary>
    public BrokerMessage? Last(string topic) => Messages.LastOrDefault(m => m.Topic == topic);

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }
}

internal sealed record BrokerMessage(string Topic, string Payload, bool Retained);
