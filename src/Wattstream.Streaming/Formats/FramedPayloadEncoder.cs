using System.Buffers;
using Wattstream.Hub;

namespace Wattstream.Streaming.Formats;

/// <summary>
/// A transport's frame around a family's payload (an SSE event, a <c>/ws</c> envelope): the payload is written once, then
/// framed, and the frame is what every client of the format shares.
/// </summary>
public abstract class FramedPayloadEncoder(PayloadFormat payload, string name) : WireEncoder
{
    public override string Name { get; } = name;

    public PayloadFormat Payload => payload;

    public override bool CanEncode(HubEvent hubEvent) => payload.CanEncode(hubEvent);

    protected override byte[] Encode(HubEvent hubEvent)
    {
        var data = ScratchBuffers.Take();
        var frame = ScratchBuffers.Take();
        try
        {
            payload.Write(hubEvent, data);
            WriteFrame(hubEvent, data.WrittenSpan, frame);
            return frame.WrittenSpan.ToArray();
        }
        finally
        {
            ScratchBuffers.Return(frame);
            ScratchBuffers.Return(data);
        }
    }

    /// <summary>Writes the frame of <paramref name="hubEvent"/> around its <paramref name="payload"/>.</summary>
    protected abstract void WriteFrame(HubEvent hubEvent, ReadOnlySpan<byte> payload, IBufferWriter<byte> output);
}
