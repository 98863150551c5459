using System.Buffers;
using Wattstream.Hub;

namespace Wattstream.Streaming.Formats;

/// <summary>
/// A wire family's JSON for one event (a whatwatt live object, a Novacore reading, a DERSim snapshot), without any
/// transport framing. Encoded once per event and shared: transport encoders (an SSE frame, a <c>/ws</c> envelope) wrap
/// these bytes, and a REST answer or a NATS message can send them as they are.
/// </summary>
public sealed class PayloadFormat(FormatId id, Func<HubEvent, bool> canEncode, Action<HubEvent, IBufferWriter<byte>> write) : WireEncoder
{
    public FormatId Id { get; } = id;

    public override string Name => Id.Name;

    public override bool CanEncode(HubEvent hubEvent) => canEncode(hubEvent);

    /// <summary>Writes the payload into <paramref name="output"/> (for encoders that frame it).</summary>
    public void Write(HubEvent hubEvent, IBufferWriter<byte> output) => write(hubEvent, output);

    protected override byte[] Encode(HubEvent hubEvent)
    {
        var buffer = ScratchBuffers.Take();
        try
        {
            write(hubEvent, buffer);
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            ScratchBuffers.Return(buffer);
        }
    }
}
