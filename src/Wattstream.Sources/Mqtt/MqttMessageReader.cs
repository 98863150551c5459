using System.Buffers;
using MQTTnet;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt;

/// <summary>What a <see cref="MqttMessageReader"/> does with what a message said: the mqtt source's or a broker device's.</summary>
public interface IMqttReadingTarget
{
    /// <summary>A new reading for the hub.</summary>
    void Publish(Reading reading);

    /// <summary>A device said it is online or offline (its last will): the status of each of its DERs.</summary>
    void Availability(MqttAvailability availability);

    /// <summary>A message that could not be used: counted and logged rate-limited by the target; the stream goes on.</summary>
    void Reject(string kind, string message);
}

/// <summary>
/// One message of a device, read the way every MQTT entrance reads it (the mqtt source, the embedded broker): at most
/// <c>maxBytes</c>, the format's <see cref="IMqttFormat.Read"/>, availability to statuses, and each reading published
/// when it is new. Malformed and oversized payloads are rejected, never thrown.
/// </summary>
/// <remarks>
/// A live message is a new reading at the time it arrived. A retained one is the broker's copy of an older message:
/// new only with a device time newer than the DER's last reading, and then at that time.
/// </remarks>
public sealed class MqttMessageReader(IMqttFormat format, IMqttReadingTarget target, int maxBytes)
{
    private readonly Dictionary<DerAddress, long> _newest = [];
    private readonly Lock _newestGate = new();

    public IMqttFormat Format => format;

    /// <param name="retained">Delivered from a broker's store of retained messages rather than live.</param>
    public void Receive(MqttApplicationMessage message, bool retained, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(message);
        var payload = message.Payload;
        if (payload.Length > maxBytes)
        {
            target.Reject("oversized", $"a message of {payload.Length} bytes on {Excerpt.Of(message.Topic, 120)} (at most {maxBytes})");
            return;
        }

        MqttContent content;
        try
        {
            content = format.Read(message.Topic, payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray(), now.ToUnixTimeMilliseconds());
        }
        catch (TelemetryFormatException e)
        {
            target.Reject("malformed", $"{Excerpt.Of(message.Topic, 120)}: {e.Message}");
            return;
        }

        if (content.Availability is { } availability)
        {
            target.Availability(availability);
        }

        foreach (var (reading, deviceTime) in content.Readings)
        {
            if (Accept(reading, deviceTime, retained) is { } accepted)
            {
                target.Publish(accepted);
            }
        }
    }

    private Reading? Accept(Reading reading, long? deviceTime, bool retained)
    {
        lock (_newestGate)
        {
            var known = _newest.TryGetValue(reading.Der, out var newest);
            if (retained)
            {
                if (deviceTime is not { } time || (known && time <= newest))
                {
                    return null;
                }

                reading = reading.WithTimestamp(time);
            }

            _newest[reading.Der] = known ? Math.Max(newest, reading.Timestamp) : reading.Timestamp;
            return reading;
        }
    }

    /// <summary>A topic as it may be logged: at most 120 characters.</summary>
}
