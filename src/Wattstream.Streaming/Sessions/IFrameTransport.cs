namespace Wattstream.Streaming.Sessions;

/// <summary>
/// What a transport supplies to a <see cref="StreamSession"/>: it only moves frames (bytes made once for every client
/// of a format) and knows its own handshake. Coalescing, heartbeats, slow-client rules and resume live in the session.
/// </summary>
/// <remarks>
/// The session serialises every call: at most one batch is open at a time. Methods do not throw for a client that has
/// gone away; they may throw <see cref="IOException"/>, <see cref="OperationCanceledException"/> or
/// <see cref="ObjectDisposedException"/>, which the session treats as the end of the connection.
/// </remarks>
public interface IFrameTransport
{
    /// <summary>A short name for logs ("sse", "websocket").</summary>
    string Name { get; }

    /// <summary>Ends when the client goes away.</summary>
    CancellationToken Closed { get; }

    /// <summary>The frame an idle connection gets, or empty when the transport keeps itself alive (WebSocket pings).</summary>
    ReadOnlyMemory<byte> Heartbeat { get; }

    /// <summary>Starts gathering frames for one write.</summary>
    void BeginBatch();

    /// <summary>Adds one frame to the open batch.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> frame);

    /// <summary>Sends what the batch gathered. False once the connection can take no more.</summary>
    ValueTask<bool> FlushAsync();

    /// <summary>The polite goodbye of the transport (a WebSocket close frame); may not complete for a client that reads nothing.</summary>
    Task CloseAsync(CloseReason reason, CancellationToken cancellationToken);

    /// <summary>Cuts the connection at once.</summary>
    void Abort();
}

/// <summary>Why the server ends a connection.</summary>
public enum CloseKind
{
    /// <summary>The client asked to close.</summary>
    Normal,

    /// <summary>The server is shutting down (WebSocket 1001).</summary>
    ShuttingDown,

    /// <summary>The client lost more events than the limit allows (WebSocket 1008).</summary>
    TooSlow,

    /// <summary>The client sent a message over the size limit (WebSocket 1009).</summary>
    MessageTooBig,

    /// <summary>The client held a connection without using it (a <c>/ws</c> connection with no subscription; WebSocket 1008).</summary>
    Idle,

    /// <summary>
    /// The caller's token expired during the stream (SSE <c>event: auth</c>; WebSocket 4401). The client may reconnect with
    /// a new token and resume from its last event id.
    /// </summary>
    TokenExpired,

    /// <summary>
    /// The caller's credential (an API key) was revoked during the stream (SSE <c>event: auth</c>; WebSocket 1008). The
    /// credential is refused from now on: reconnecting with it gets 401.
    /// </summary>
    Revoked,
}

public sealed record CloseReason(CloseKind Kind, string Message);

/// <summary>
/// The credential a stream was opened with, as the supervisor watches it: when it expires, and whether it has been
/// revoked since (asked on every supervision tick, so it must be cheap and must not block).
/// </summary>
public sealed record StreamCredential(DateTimeOffset? ExpiresAt, Func<bool>? IsRevoked = null);
