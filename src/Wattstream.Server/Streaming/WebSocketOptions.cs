using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Streaming;

public sealed class WebSocketStreamingOptions
{
    public const string SectionName = "WebSockets";

    /// <summary>How many messages wait for a slow client before the oldest is dropped.</summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 256;

    /// <summary>At most this many queued messages go out in one write (writes are coalesced when a client lags).</summary>
    [Range(1, 100_000)]
    public int MaxMessagesPerWrite { get; set; } = 256;

    /// <summary>A client that has lost this many messages since it last kept up is disconnected (close 1008).</summary>
    [Range(1, 10_000_000)]
    public int MaxDroppedBeforeClose { get; set; } = 2_000;

    /// <summary>Largest message a client may send; a larger one closes the connection with 1009.</summary>
    [Range(128, 1 << 20)]
    public int MaxIncomingMessageBytes { get; set; } = 4096;

    /// <summary>Subscriptions one <c>/ws</c> connection may hold.</summary>
    [Range(1, 1000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 64;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);
}
