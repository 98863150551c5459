using System.Buffers;
using System.Buffers.Text;
using Wattstream.Hub;

namespace Wattstream.Server.Streaming;

/// <summary>
/// Encodes an event as one complete SSE frame (<c>id:</c>, optional <c>event:</c>, one <c>data:</c> line, blank line),
/// so an SSE connection only copies shared bytes. The JSON writers never emit a raw line break, which keeps <c>data:</c>
/// on one line as the devices do.
/// </summary>
public abstract class SseFrameEncoder : WireEncoder
{
    private readonly byte[]? _eventLine;

    protected SseFrameEncoder(string? eventName)
    {
        _eventLine = eventName is null ? null : System.Text.Encoding.UTF8.GetBytes($"event: {eventName}\n");
    }

    /// <summary>Epoch of the hub whose ids this encoder writes.</summary>
    protected abstract long Epoch { get; }

    /// <summary>Writes the JSON of the data line.</summary>
    protected abstract void WriteData(HubEvent hubEvent, IBufferWriter<byte> output);

    protected override byte[] Encode(HubEvent hubEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        Write(buffer, "id: "u8);
        WriteNumber(buffer, Epoch);
        Write(buffer, "-"u8);
        WriteNumber(buffer, hubEvent.Id);
        Write(buffer, "\n"u8);
        if (_eventLine is not null)
        {
            Write(buffer, _eventLine);
        }

        Write(buffer, "data: "u8);
        WriteData(hubEvent, buffer);
        Write(buffer, "\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes) => buffer.Write(bytes);

    private static void WriteNumber(ArrayBufferWriter<byte> buffer, long value)
    {
        var span = buffer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        buffer.Advance(written);
    }
}
