using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Wattstream.Streaming;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Transports.WebSockets;

/// <summary>Accepts WebSockets as supervised sessions of the streaming core.</summary>
public sealed class WebSocketStreams(
    StreamSupervisor supervisor,
    IOptions<WebSocketStreamingOptions> options,
    IOptions<StreamingOptions> streaming,
    TimeProvider time,
    IHostApplicationLifetime lifetime)
{
    public async Task<WebSocketStream> AcceptAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var socket = await context.WebSockets.AcceptWebSocketAsync();
        var session = supervisor.Open(new WebSocketTransport(socket, context), Access.StreamCredentials.Of(context), StreamFamilies.Of(context));
        return new WebSocketStream(socket, session, options.Value, streaming.Value.CloseTimeout, time, lifetime.ApplicationStopping);
    }
}

/// <summary>
/// One accepted WebSocket: its session (every send goes through it) and the receive loop, with the size limit and the
/// close handshake.
/// </summary>
public sealed class WebSocketStream(
    WebSocket socket,
    StreamSession session,
    WebSocketStreamingOptions options,
    TimeSpan closeTimeout,
    TimeProvider time,
    CancellationToken stopping) : IDisposable
{
    public StreamSession Session => session;

    /// <summary>
    /// Reads the client's messages until it closes. Text messages go to <paramref name="onText"/>; one larger than the limit
    /// closes the connection with 1009 (message too big).
    /// </summary>
    public async Task ReceiveAsync(Func<ReadOnlyMemory<byte>, ValueTask>? onText)
    {
        // A cancelled receive aborts a WebSocket without the close handshake, so shutdown sends the close frame instead
        // and this loop ends when the client answers it.
        using var onStopping = stopping.Register(() => _ = CloseForShutdownAsync());
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                // Wait for the next message with an empty buffer (as SignalR does): an idle connection holds no receive
                // buffer, which was 4 KB of every idle WebSocket's memory (docs/benchmarks.md, issue 19).
                var first = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (first.MessageType == WebSocketMessageType.Close)
                {
                    await session.CloseAsync(new CloseReason(CloseKind.Normal, "bye"));
                    return;
                }

                if (first.EndOfMessage)
                {
                    if (first.MessageType == WebSocketMessageType.Text && onText is not null)
                    {
                        await onText(ReadOnlyMemory<byte>.Empty);
                    }

                    continue;
                }

                if (!await ReceiveMessageAsync(first.MessageType, onText))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (StreamSession.IsDisconnect(e))
        {
            // The client vanished without a close handshake.
        }
    }

    // Reads the rest of a message into a pooled buffer and hands a text message on; false when the connection is closing.
    private async Task<bool> ReceiveMessageAsync(WebSocketMessageType type, Func<ReadOnlyMemory<byte>, ValueTask>? onText)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(options.MaxIncomingMessageBytes);
        try
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == options.MaxIncomingMessageBytes)
                {
                    await session.CloseAsync(new CloseReason(CloseKind.MessageTooBig, $"messages are limited to {options.MaxIncomingMessageBytes} bytes"));
                    return false;
                }

                result = await socket.ReceiveAsync(buffer.AsMemory(length, options.MaxIncomingMessageBytes - length), CancellationToken.None);
                length += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                await session.CloseAsync(new CloseReason(CloseKind.Normal, "bye"));
                return false;
            }

            if (type == WebSocketMessageType.Text && onText is not null)
            {
                await onText(buffer.AsMemory(0, length));
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task CloseForShutdownAsync()
    {
        await session.CloseAsync(new CloseReason(CloseKind.ShuttingDown, "server shutting down"));
        await Task.Delay(closeTimeout, time);
        if (socket.State != WebSocketState.Closed)
        {
            session.Transport.Abort(); // the client did not answer the close: shutdown does not wait for it
        }
    }

    public void Dispose()
    {
        session.Dispose();
        socket.Dispose();
    }
}
