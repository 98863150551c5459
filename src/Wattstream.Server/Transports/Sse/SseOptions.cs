using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Transports.Sse;

/// <summary>What only SSE has (section <c>Sse</c>); queues, heartbeats and slow clients are under <c>Streaming</c>.</summary>
public sealed class SseOptions
{
    public const string SectionName = "Sse";

    /// <summary>Sent once as <c>retry:</c> at the start of every stream (the HES client reconnects every 5000 ms).</summary>
    [Range(0, 3_600_000)]
    public int RetryMilliseconds { get; set; } = 5000;
}
