using System.Text.Json;
using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// The status feed as the HES family's SSE speaks it: <c>id: {epoch}-{version}</c>, <c>event: meter-status</c>,
/// <c>{"meterNo","lastSeen","status"}</c>. Frames statuses only: the family's readings have encoders of their own.
/// </summary>
internal sealed class HesStatusFraming(TelemetryHub hub) : IFeedFraming
{
    public const string MeterStatusEvent = "meter-status";

    public string Name => "hes-sse";

    public byte[] Frame(IFeed feed, IFeedItem item) => item is DerStatus status
        ? SseFrame.Event(new HubEventId(hub.Epoch, status.Version), MeterStatusEvent, JsonSerializer.SerializeToUtf8Bytes(ToMeterStatus(status), HesJsonContext.Default.MeterStatusEvent))
        : throw new NotSupportedException($"The HES framing frames meter statuses, not items of '{feed?.Kind}'.");

    public WireEncoder ReadingEncoder(IFeed feed, PayloadFormat format) =>
        throw new NotSupportedException("The HES framing frames meter statuses; HES readings have their own encoders.");

    private static MeterStatusEvent ToMeterStatus(DerStatus status) =>
        new(status.Der.Der, status.LastSeen is { } seen ? WireTime.Format(seen) : null, status.Status.ToWireName());
}
