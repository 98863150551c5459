namespace Wattstream.Hub.Status;

/// <summary>Whether a DER (or the source behind it) is delivering. Wire names are upper-case with underscores (HES).</summary>
public enum ConnectionStatus
{
    Unknown,
    Connecting,
    Connected,

    /// <summary>Connected, but silent for longer than the idle watchdog allows.</summary>
    Stale,
    Disconnected,
    AuthFailed,
}

public static class ConnectionStatuses
{
    public static string ToWireName(this ConnectionStatus status) => status switch
    {
        ConnectionStatus.Unknown => "UNKNOWN",
        ConnectionStatus.Connecting => "CONNECTING",
        ConnectionStatus.Connected => "CONNECTED",
        ConnectionStatus.Stale => "STALE",
        ConnectionStatus.Disconnected => "DISCONNECTED",
        ConnectionStatus.AuthFailed => "AUTH_FAILED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}
