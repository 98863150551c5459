using System.Buffers;
using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.General;

/// <summary><c>{"type":"reading","id":…,"subject":…,"format":…,"data":{…}}</c>: the same bytes for every <c>/ws</c> client of a format.</summary>
internal sealed class WsReadingEncoder(PayloadFormat payload) : WireEncoder
{
    public override string Name { get; } = $"ws-{payload.Name}";

    public PayloadFormat Payload => payload;

    public override bool CanEncode(HubEvent hubEvent) => payload.CanEncode(hubEvent);

    protected override byte[] Encode(HubEvent hubEvent)
    {
        var data = new ArrayBufferWriter<byte>(1024);
        payload.Write(hubEvent, data);
        var buffer = new ArrayBufferWriter<byte>(data.WrittenCount + 160);
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            writer.WriteStartObject();
            writer.WriteString("type", WsProtocol.ServerMessage.Reading);
            writer.WriteString("id", HubEventId.Format(hubEvent.Epoch, hubEvent.Id));
            writer.WriteString("subject", hubEvent.Subject);
            writer.WriteString("format", payload.Name);
            writer.WritePropertyName("data");
            writer.WriteRawValue(data.WrittenSpan, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
