using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Transports.WebSockets;

/// <summary>
/// An accepted WebSocket as a frame transport: each frame is one text message. Within a batch the messages gather in
/// the connection's <see cref="BatchingWebSocketStream"/> and leave in one write.
/// </summary>
internal sealed class WebSocketTransport(WebSocket socket, HttpContext context) : IFrameTransport
{
    private readonly BatchingWebSocketStream? _batch = context.Features.Get<BatchingWebSocketStream>(); // absent without the batching middleware

    public string Name => "websocket";

    public CancellationToken Closed => context.RequestAborted;

    public ReadOnlyMemory<byte> Heartbeat => ReadOnlyMemory<byte>.Empty; // the runtime sends pings (WebSockets:KeepAliveInterval)

    public void BeginBatch() => _batch?.Begin();

    public ValueTask WriteAsync(ReadOnlyMemory<byte> frame) =>
        socket.State == WebSocketState.Open ? socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None) : default;

    public ValueTask<bool> FlushAsync()
    {
        if (_batch is null)
        {
            return new ValueTask<bool>(socket.State == WebSocketState.Open);
        }

        var end = _batch.EndAsync();
        return end.IsCompletedSuccessfully ? new ValueTask<bool>(socket.State == WebSocketState.Open) : AwaitEndAsync(end);
    }

    public async Task CloseAsync(CloseReason reason, CancellationToken cancellationToken)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(StatusOf(reason.Kind), reason.Message, cancellationToken);
        }
    }

    public void Abort() => context.Abort();

    /// <summary>An application close code (4000–4999) after HTTP's 401, as other WebSocket protocols use it.</summary>
    public const WebSocketCloseStatus TokenExpiredStatus = (WebSocketCloseStatus)4401;

    private static WebSocketCloseStatus StatusOf(CloseKind kind) => kind switch
    {
        CloseKind.ShuttingDown => WebSocketCloseStatus.EndpointUnavailable,
        CloseKind.TooSlow or CloseKind.Idle or CloseKind.Revoked => WebSocketCloseStatus.PolicyViolation,
        CloseKind.MessageTooBig => WebSocketCloseStatus.MessageTooBig,
        CloseKind.TokenExpired => TokenExpiredStatus,
        _ => WebSocketCloseStatus.NormalClosure,
    };

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AwaitEndAsync(ValueTask end)
    {
        await end;
        return socket.State == WebSocketState.Open;
    }
}
