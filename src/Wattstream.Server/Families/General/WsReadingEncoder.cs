using System.Buffers;
using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.General;

/// <summary><c>{"type":"reading","id":…,"subject":…,"format":…,"data":{…}}</c>: the same bytes for every <c>/ws</c> client of a format.</summary>
internal sealed class WsReadingEncoder(PayloadFormat payload) : FramedPayloadEncoder(payload, $"ws-{payload.Name}")
{
    protected override void WriteFrame(HubEvent hubEvent, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        using var rented = JsonWriting.Rent(output);
        var writer = rented.Writer;
        writer.WriteStartObject();
        writer.WriteString("type", WsProtocol.ServerMessage.Reading);
        writer.WriteString("id", HubEventId.Format(hubEvent.Epoch, hubEvent.Id));
        writer.WriteString("subject", hubEvent.Subject);
        writer.WriteString("format", Payload.Name);
        writer.WritePropertyName("data");
        writer.WriteRawValue(payload, skipInputValidation: true);
        writer.WriteEndObject();
    }
}
