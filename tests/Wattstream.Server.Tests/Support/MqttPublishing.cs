using MQTTnet;
using MQTTnet.Protocol;

namespace Wattstream.Server.Tests;

/// <summary>How the tests' device clients publish: QoS 1, so the broker holds a message when its publish returns.</summary>
internal static class MqttTestPublishing
{
    /// <summary>One message, held by the broker when this returns (with <paramref name="retain"/>, as a device's will or online flag).</summary>
    public static async Task PublishHeldAsync(this IMqttClient client, string topic, string payload, bool retain = false) =>
        await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload(payload).WithRetainFlag(retain).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    /// <summary>Messages one after the other, each held before the next, as a device publishes a state's fields.</summary>
    public static async Task PublishInOrderAsync(this IMqttClient client, IEnumerable<(string Topic, string Payload)> messages)
    {
        foreach (var (topic, payload) in messages)
        {
            await client.PublishHeldAsync(topic, payload);
        }
    }
}
