using System.Buffers;
using System.Buffers.Text;
using Wattstream.Hub;

namespace Wattstream.Server.Streaming;

/// <summary>
/// Builds one complete SSE frame (<c>id:</c>, optional <c>event:</c>, one <c>data:</c> line, blank line), so an SSE
/// connection only copies shared bytes. The JSON writers never emit a raw line break, which keeps <c>data:</c> on one
/// line as the devices do.
/// </summary>
internal sealed class SseFrames(string? eventName)
{
    private readonly byte[]? _eventLine = eventName is null ? null : System.Text.Encoding.UTF8.GetBytes($"event: {eventName}\n");

    public byte[] Encode(HubEvent hubEvent, Action<HubEvent, IBufferWriter<byte>> writeData)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        buffer.Write("id: "u8);
        WriteNumber(buffer, hubEvent.Epoch);
        buffer.Write("-"u8);
        WriteNumber(buffer, hubEvent.Id);
        buffer.Write("\n"u8);
        if (_eventLine is not null)
        {
            buffer.Write(_eventLine);
        }

        buffer.Write("data: "u8);
        writeData(hubEvent, buffer);
        buffer.Write("\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNumber(ArrayBufferWriter<byte> buffer, long value)
    {
        var span = buffer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        buffer.Advance(written);
    }
}
