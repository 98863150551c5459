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
public sealed class SseEventEncoder(PayloadFormat payload, string? eventName) : WireEncoder
{
    private readonly byte[] _eventName = eventName is null ? [] : Encoding.UTF8.GetBytes(eventName);

    public override string Name { get; } = $"{payload.Name}-sse";

    public PayloadFormat Payload => payload;

    public override bool CanEncode(HubEvent hubEvent) => payload.CanEncode(hubEvent);

    protected override byte[] Encode(HubEvent hubEvent)
    {
        var data = new ArrayBufferWriter<byte>(1024);
        payload.Write(hubEvent, data);
        var frame = new ArrayBufferWriter<byte>(data.WrittenCount + 64);
        SseFrame.WriteEvent(frame, new HubEventId(hubEvent.Epoch, hubEvent.Id), _eventName, data.WrittenSpan);
        return frame.WrittenSpan.ToArray();
    }
}
