using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Transports.WebSockets;

/// <summary>What only WebSockets have (section <c>WebSockets</c>); queues and slow clients are under <c>Streaming</c>.</summary>
public sealed class WebSocketStreamingOptions
{
    public const string SectionName = "WebSockets";

    /// <summary>Largest message a client may send; a larger one closes the connection with 1009.</summary>
    [Range(128, 1 << 20)]
    public int MaxIncomingMessageBytes { get; set; } = 4096;

    /// <summary>Subscriptions one <c>/ws</c> connection may hold.</summary>
    [Range(1, 1000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 64;

    /// <summary>A <c>/ws</c> connection that holds no subscription this long is closed (1008); it holds resources for nothing.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan IdleWithoutSubscription { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>WebSocket-level pings keep idle connections open through proxies.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);
}
