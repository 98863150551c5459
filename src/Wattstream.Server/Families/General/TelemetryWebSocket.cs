using Microsoft.Extensions.Options;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.WebSockets;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Sessions;
using static Wattstream.Server.Families.General.WsProtocol;

namespace Wattstream.Server.Families.General;

/// <summary>
/// The general WebSocket at <c>/ws</c>: subscribe to subject patterns of any registered feed (readings, statuses,
/// alerts, summaries…), optionally resuming after an event id; unsubscribe, ping. The protocol is specified message by
/// message in docs/protocol.md; <see cref="WsConnection"/> holds a connection's subscriptions.
/// </summary>
internal static class TelemetryWebSocket
{
    public static void Map(IEndpointRouteBuilder app, string tag)
    {
        app.Map("/ws", RunAsync)
            .WithTags(tag)
            .WithSummary("WebSocket: subscribe to subject patterns and receive readings, status changes, alerts and summaries (see docs/protocol.md)");
    }

    private static async Task<IResult> RunAsync(
        HttpContext context,
        GeneralFamily family,
        FeedRegistry feeds,
        Wattstream.Hub.TelemetryHub hub,
        ITelemetryAccess access,
        WebSocketStreams webSockets,
        IOptions<WebSocketStreamingOptions> options,
        TimeProvider time)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return Problems.NotAWebSocket(context.Request.Path);
        }

        using var socket = await webSockets.AcceptAsync(context);
        var connection = new WsConnection(socket.Session, feeds, family.Framing, access.Resolve(context), options.Value, time, context.RequestAborted);
        try
        {
            await socket.Session.SendAsync(WsMessages.Write(w =>
            {
                w.WriteString("type", ServerMessage.Hello);
                w.WriteString("server", "wattstream");
                w.WriteNumber("protocol", WsProtocol.Version);
                w.WriteNumber("epoch", hub.Epoch);
                w.WriteStartArray("formats");
                foreach (var format in family.Formats.All)
                {
                    w.WriteStringValue(format.Name);
                }

                w.WriteEndArray();
            }));
            using var closed = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var idle = CloseWhenIdleAsync(connection, socket, options.Value.IdleWithoutSubscription, time, closed.Token);
            await socket.ReceiveAsync(connection.HandleAsync);
            await closed.CancelAsync();
            await idle;
        }
        finally
        {
            await connection.DisposeAsync();
        }

        return TypedResults.Empty;
    }

    // A connection without a subscription holds a socket, a session and a receive buffer for nothing: it gets the
    // timeout to subscribe (and again after its last unsubscribe), then it is closed.
    private static async Task CloseWhenIdleAsync(WsConnection connection, WebSocketStream socket, TimeSpan timeout, TimeProvider time, CancellationToken closed)
    {
        try
        {
            while (true)
            {
                var idleFor = connection.IdleSince is { } since ? time.GetUtcNow() - since : TimeSpan.Zero;
                if (connection.IdleSince is not null && idleFor >= timeout)
                {
                    await socket.Session.CloseAsync(new CloseReason(CloseKind.Idle, $"no subscription for {timeout.TotalSeconds:0.#} s"));
                    return;
                }

                await Task.Delay(connection.IdleSince is null ? timeout : timeout - idleFor, time, closed);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
