using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Wattstream.Hub.Resume;

namespace Wattstream.Server.Transports.Sse;

/// <summary>
/// The one writer of <c>text/event-stream</c> frames, used by every SSE path: events (<c>id:</c>, optional <c>event:</c>,
/// <c>data:</c>, blank line), comments and the <c>retry:</c> hint.
/// </summary>
/// <remarks>
/// Our JSON writers never emit a raw line break, so <c>data:</c> is one line as the devices send it; data that does
/// hold line breaks is split over several <c>data:</c> lines, which a client joins back with <c>\n</c>.
/// </remarks>
public static class SseFrame
{
    /// <summary>The comment an idle stream gets.</summary>
    public static ReadOnlyMemory<byte> Heartbeat { get; } = Comment("heartbeat");

    /// <summary>The last event of a stream whose caller's token expired: <c>event: auth</c>.</summary>
    public static ReadOnlyMemory<byte> AuthExpired { get; } = Event(null, "auth", """{"error":"token_expired","message":"The token expired: reconnect with a new one; Last-Event-ID resumes the stream."}"""u8);

    /// <summary>The last event of a stream whose caller's API key was revoked: <c>event: auth</c>.</summary>
    public static ReadOnlyMemory<byte> AuthRevoked { get; } = Event(null, "auth", """{"error":"credential_revoked","message":"The API key was revoked: it is refused from now on."}"""u8);

    public static void WriteEvent(IBufferWriter<byte> output, HubEventId? id, ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (id is { } eventId)
        {
            output.Write("id: "u8);
            WriteNumber(output, eventId.Epoch);
            output.Write("-"u8);
            WriteNumber(output, eventId.Sequence);
            output.Write("\n"u8);
        }

        if (!eventName.IsEmpty)
        {
            output.Write("event: "u8);
            output.Write(eventName);
            output.Write("\n"u8);
        }

        while (true)
        {
            var end = data.IndexOf((byte)'\n');
            output.Write("data: "u8);
            output.Write(end < 0 ? data : data[..end]);
            output.Write("\n"u8);
            if (end < 0)
            {
                break;
            }

            data = data[(end + 1)..];
        }

        output.Write("\n"u8);
    }

    /// <summary>A whole event frame, for events made once (notices, statuses).</summary>
    public static byte[] Event(HubEventId? id, string? eventName, ReadOnlySpan<byte> data)
    {
        var buffer = new ArrayBufferWriter<byte>(data.Length + 64);
        WriteEvent(buffer, id, eventName is null ? default : Encoding.UTF8.GetBytes(eventName), data);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An event whose id is a plain number (alerts: ids the store assigns, across restarts).</summary>
    public static byte[] Event(long id, string eventName, ReadOnlySpan<byte> data)
    {
        var buffer = new ArrayBufferWriter<byte>(data.Length + 64);
        buffer.Write("id: "u8);
        WriteNumber(buffer, id);
        buffer.Write("\n"u8);
        WriteEvent(buffer, null, Encoding.UTF8.GetBytes(eventName), data);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>: text</c> and a blank line; clients ignore it.</summary>
    public static byte[] Comment(string text) => Encoding.UTF8.GetBytes($": {text.ReplaceLineEndings(" ")}\n\n");

    /// <summary>The reconnection delay a client should use.</summary>
    public static byte[] Retry(int milliseconds) => Encoding.ASCII.GetBytes($"retry: {milliseconds}\n\n");

    private static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }
}
