using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Streaming;

public sealed class SseOptions
{
    public const string SectionName = "Sse";

    /// <summary>Sent once as <c>retry:</c> at the start of every stream (the HES client reconnects every 5000 ms).</summary>
    [Range(0, 3_600_000)]
    public int RetryMilliseconds { get; set; } = 5000;

    /// <summary>A comment line is sent on a stream that has been silent this long, so proxies and idle watchdogs keep it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>At most this many queued events are written before a flush (writes are coalesced when a client lags).</summary>
    [Range(1, 100_000)]
    public int MaxEventsPerFlush { get; set; } = 256;
}
