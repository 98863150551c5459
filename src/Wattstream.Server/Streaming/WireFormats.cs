using System.Buffers;
using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Server.Endpoints;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Streaming;

/// <summary>
/// The encoders of this server, one instance each, so that every connection of a format shares the bytes cached on
/// an event. Adding a format means adding an encoder here; transports do not change.
/// </summary>
public sealed class WireFormats
{
    public WireFormats(TelemetryHub hub, DerSimDevices derSimDevices)
    {
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(derSimDevices);
        Action<HubEvent, IBufferWriter<byte>> whatwatt = (e, o) => WhatwattLive.Write(e.Reading, o);
        Action<HubEvent, IBufferWriter<byte>> novacore = (e, o) => NovacoreReading.Write(e.Reading, o);
        Action<HubEvent, IBufferWriter<byte>> dersim = (e, o) => DerSimOverview.Write(e.Reading, o, derSimDevices.IndexOf(e.Reading.Der));
        Func<HubEvent, bool> meters = e => e.Reading.Type == DerType.Meter;
        Func<HubEvent, bool> any = _ => true;
        Func<HubEvent, bool> ders = e => DerSimOverview.CanWrite(e.Reading.Type);

        WhatwattLiveSse = new SseEncoder("whatwatt-live-sse", "live", meters, whatwatt);
        NovacoreSse = new SseEncoder("novacore-sse", null, any, novacore);
        HesRealtimeSse = new SseEncoder("hes-realtime-sse", null, meters, (e, o) => HesRealtime.Write(e.Reading, o));
        DerSimJson = new JsonEncoder("dersim-json", ders, dersim);
        WsNovacore = new WsEnvelopeEncoder("ws-novacore", "novacore", any, novacore);
        WsWhatwatt = new WsEnvelopeEncoder("ws-whatwatt", "whatwatt", meters, whatwatt);
        WsDerSim = new WsEnvelopeEncoder("ws-dersim", "dersim", ders, dersim);
    }

    /// <summary>whatwatt <c>event: live</c> frames (meters only).</summary>
    public WireEncoder WhatwattLiveSse { get; }

    /// <summary>Unnamed SSE frames carrying a Novacore reading (any DER type).</summary>
    public WireEncoder NovacoreSse { get; }

    /// <summary>Unnamed SSE frames carrying the HES real-time data labels (meters only).</summary>
    public WireEncoder HesRealtimeSse { get; }

    /// <summary>The DERSim overview snapshot as plain JSON (WebSocket messages and the REST overview; not meters).</summary>
    public WireEncoder DerSimJson { get; }

    /// <summary>The general WebSocket's <c>reading</c> messages, one encoder per payload format.</summary>
    public WireEncoder WsNovacore { get; }

    public WireEncoder WsWhatwatt { get; }

    public WireEncoder WsDerSim { get; }

    /// <summary>The <c>/ws</c> encoder for a format name, or null for an unknown one.</summary>
    public WireEncoder? WsFormat(string? name) => name switch
    {
        null or "" or "novacore" => WsNovacore,
        "whatwatt" => WsWhatwatt,
        "dersim" => WsDerSim,
        _ => null,
    };

    private abstract class DelegateEncoder(string name, Func<HubEvent, bool> canEncode) : WireEncoder
    {
        public override string Name => name;

        public override bool CanEncode(HubEvent hubEvent) => canEncode(hubEvent);
    }

    private sealed class SseEncoder(string name, string? eventName, Func<HubEvent, bool> canEncode, Action<HubEvent, IBufferWriter<byte>> writeData)
        : DelegateEncoder(name, canEncode)
    {
        private readonly SseFrames _frames = new(eventName);

        protected override byte[] Encode(HubEvent hubEvent) => _frames.Encode(hubEvent, writeData);
    }

    private sealed class JsonEncoder(string name, Func<HubEvent, bool> canEncode, Action<HubEvent, IBufferWriter<byte>> write)
        : DelegateEncoder(name, canEncode)
    {
        protected override byte[] Encode(HubEvent hubEvent)
        {
            var buffer = new ArrayBufferWriter<byte>(1024);
            write(hubEvent, buffer);
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary><c>{"type":"reading","id":…,"subject":…,"format":…,"data":{…}}</c>: the same bytes for every <c>/ws</c> client.</summary>
    private sealed class WsEnvelopeEncoder(string name, string format, Func<HubEvent, bool> canEncode, Action<HubEvent, IBufferWriter<byte>> writeData)
        : DelegateEncoder(name, canEncode)
    {
        protected override byte[] Encode(HubEvent hubEvent)
        {
            var data = new ArrayBufferWriter<byte>(1024);
            writeData(hubEvent, data);
            var buffer = new ArrayBufferWriter<byte>(data.WrittenCount + 160);
            using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
            {
                writer.WriteStartObject();
                writer.WriteString("type", "reading");
                writer.WriteString("id", EventIds.Format(hubEvent.Epoch, hubEvent.Id));
                writer.WriteString("subject", hubEvent.Subject);
                writer.WriteString("format", format);
                writer.WritePropertyName("data");
                writer.WriteRawValue(data.WrittenSpan, skipInputValidation: true);
                writer.WriteEndObject();
            }

            return buffer.WrittenSpan.ToArray();
        }
    }
}
