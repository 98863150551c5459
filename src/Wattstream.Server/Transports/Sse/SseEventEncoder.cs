using System.Buffers;
using System.Text;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Transports.Sse;

/// <summary>
/// A wire family's payload as a complete SSE frame with the event's id (and, for families that name their events, the
/// event name), so an SSE connection only copies shared bytes.
/// </summary>
public sealed class SseEventEncoder(PayloadFormat payload, string? eventName) : FramedPayloadEncoder(payload, $"{payload.Name}-sse")
{
    private readonly byte[] _eventName = eventName is null ? [] : Encoding.UTF8.GetBytes(eventName);

    protected override void WriteFrame(HubEvent hubEvent, ReadOnlySpan<byte> payload, IBufferWriter<byte> output) =>
        SseFrame.WriteEvent(output, new HubEventId(hubEvent.Epoch, hubEvent.Id), _eventName, payload);
}
