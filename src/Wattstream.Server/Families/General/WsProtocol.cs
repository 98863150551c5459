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

    /// <summary>What a subscription delivers.</summary>
    public enum SubscriptionKind
    {
        Unknown,
        Readings,
        Status,
        Alerts,
        Summary,
    }

    public static class ServerMessage
    {
        public const string Hello = "hello";
        public const string Subscribed = "subscribed";
        public const string Unsubscribed = "unsubscribed";
        public const string Pong = "pong";
        public const string Error = "error";
        public const string Reading = "reading";
        public const string Status = "status";
        public const string Alert = "alert";
        public const string Summary = "summary";
    }

    public static ClientMessage ParseClientMessage(string? type) => type switch
    {
        null => ClientMessage.Missing,
        "subscribe" => ClientMessage.Subscribe,
        "unsubscribe" => ClientMessage.Unsubscribe,
        "ping" => ClientMessage.Ping,
        _ => ClientMessage.Unknown,
    };

    /// <summary>An absent kind means readings.</summary>
    public static SubscriptionKind ParseKind(string? kind) => kind switch
    {
        null or "readings" => SubscriptionKind.Readings,
        "status" => SubscriptionKind.Status,
        "alerts" => SubscriptionKind.Alerts,
        "summary" => SubscriptionKind.Summary,
        _ => SubscriptionKind.Unknown,
    };

    public static string Name(SubscriptionKind kind) => kind switch
    {
        SubscriptionKind.Status => "status",
        SubscriptionKind.Alerts => "alerts",
        SubscriptionKind.Summary => "summary",
        _ => "readings",
    };
}
