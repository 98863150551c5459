namespace Wattstream.Server.Families.General;

/// <summary>The words of the <c>/ws</c> protocol (docs/protocol.md), each written once.</summary>
internal static class WsProtocol
{
    public const int Version = 1;

    /// <summary>What a client may send.</summary>
    public enum ClientMessage
    {
        Missing,
        Unknown,
        Subscribe,
        Unsubscribe,
        Ping,
    }

    public static class ServerMessage
    {
        public const string Hello = "hello";
        public const string Subscribed = "subscribed";
        public const string Unsubscribed = "unsubscribed";
        public const string Pong = "pong";
        public const string Error = "error";
        public const string Reading = "reading";
    }

    public static ClientMessage ParseClientMessage(string? type) => type switch
    {
        null => ClientMessage.Missing,
        "subscribe" => ClientMessage.Subscribe,
        "unsubscribe" => ClientMessage.Unsubscribe,
        "ping" => ClientMessage.Ping,
        _ => ClientMessage.Unknown,
    };
}
