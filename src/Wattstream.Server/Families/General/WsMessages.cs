using System.Buffers;
using System.Text.Json;

namespace Wattstream.Server.Families.General;

/// <summary>Writing and reading the JSON messages of <c>/ws</c> (docs/protocol.md).</summary>
internal static class WsMessages
{
    /// <summary>One message: <paramref name="write"/> fills the object's members.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Error(string? id, string code, string message) => Write(w =>
    {
        w.WriteString("type", WsProtocol.ServerMessage.Error);
        if (id is not null)
        {
            w.WriteString("id", id);
        }

        w.WriteString("code", code);
        w.WriteString("message", message);
    });
}

/// <summary>A client message: <c>{"type": …, "id": …, "subject": …, "kind": …, "format": …, "lastEventId": …, "data": …}</c>.</summary>
internal sealed record WsRequest(string? Type, string? Id, string? Subject, string? Kind, string? Format, string? LastEventId, byte[]? Data)
{
    /// <summary>Reads a message; a malformed one throws <see cref="JsonException"/> or <see cref="FormatException"/>.</summary>
    public static WsRequest Parse(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the message must be a JSON object");
        }

        string? Text(string name) => root.TryGetProperty(name, out var p)
            ? p.ValueKind == JsonValueKind.String ? p.GetString() : throw new FormatException($"\"{name}\" must be a string")
            : null;

        return new WsRequest(
            Text("type"),
            Text("id"),
            Text("subject"),
            Text("kind"),
            Text("format"),
            Text("lastEventId"),
            root.TryGetProperty("data", out var data) ? System.Text.Encoding.UTF8.GetBytes(data.GetRawText()) : null);
    }
}
