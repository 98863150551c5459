using System.ComponentModel.DataAnnotations;

namespace Wattstream.Streaming;

/// <summary>The knobs every transport shares (section <c>Streaming</c>).</summary>
public sealed class StreamingOptions
{
    public const string SectionName = "Streaming";

    /// <summary>How many events wait for a slow client before the oldest is dropped.</summary>
    [Range(1, 1 << 20)]
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>At most this many queued frames go out in one write (writes are coalesced when a client lags).</summary>
    [Range(1, 100_000)]
    public int MaxFramesPerWrite { get; set; } = 256;

    /// <summary>A client that has lost this many events since it last kept up is disconnected (it may resume).</summary>
    [Range(1, 10_000_000)]
    public int MaxDroppedBeforeClose { get; set; } = 2_000;

    /// <summary>A connection silent this long gets its transport's heartbeat (an SSE comment), so proxies keep it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the supervisor looks for slow clients (heartbeats are checked at least four times per interval).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan SupervisionInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a polite close (WebSocket close handshake) may take before the connection is cut.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>At most this many stored events are replayed on one resume older than the replay ring.</summary>
    [Range(1, 10_000_000)]
    public int MaxHistoryReplay { get; set; } = 50_000;

    /// <summary>
    /// Cluster mode: how long a resuming client waits for this node to reach its id, when it comes from a node that was
    /// a little ahead (both follow the same log).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan ClusterCatchUp { get; set; } = TimeSpan.FromSeconds(2);
}
