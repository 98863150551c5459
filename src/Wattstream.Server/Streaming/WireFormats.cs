using System.Buffers;
using Wattstream.Hub;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Streaming;

/// <summary>
/// The encoders of this server, one instance each, so that every connection of a format shares the bytes cached on
/// an event. Adding a format means adding an encoder here; transports do not change.
/// </summary>
public sealed class WireFormats(TelemetryHub hub)
{
    /// <summary>whatwatt <c>event: live</c> frames (meters only).</summary>
    public SseFrameEncoder WhatwattLiveSse { get; } = new JsonSseEncoder("whatwatt-live-sse", "live", hub.Epoch,
        e => e.Reading.Type == DerType.Meter,
        (e, output) => WhatwattLive.Write(e.Reading, output));

    /// <summary>Unnamed SSE frames carrying a Novacore reading (any DER type).</summary>
    public SseFrameEncoder NovacoreSse { get; } = new JsonSseEncoder("novacore-sse", null, hub.Epoch,
        _ => true,
        (e, output) => NovacoreReading.Write(e.Reading, output));

    /// <summary>The bytes of <paramref name="hubEvent"/> in <paramref name="encoder"/>'s format, or empty when it has no such shape.</summary>
    public static ReadOnlyMemory<byte> Frame(WireEncoder encoder, HubEvent hubEvent) =>
        encoder.CanEncode(hubEvent) ? hubEvent.GetEncoded(encoder) : ReadOnlyMemory<byte>.Empty;

    private sealed class JsonSseEncoder(
        string name,
        string? eventName,
        long epoch,
        Func<HubEvent, bool> canEncode,
        Action<HubEvent, IBufferWriter<byte>> writeData) : SseFrameEncoder(eventName)
    {
        public override string Name => name;

        protected override long Epoch => epoch;

        public override bool CanEncode(HubEvent hubEvent) => canEncode(hubEvent);

        protected override void WriteData(HubEvent hubEvent, IBufferWriter<byte> output) => writeData(hubEvent, output);
    }
}
