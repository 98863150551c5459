using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net.WebSockets;
using Wattstream.Hub;

namespace Wattstream.Server.Streaming;

/// <summary>
/// One accepted WebSocket: serialised sends (several pumps may feed it), a receive loop with a size limit, and the
/// close handshake. Messages are pre-encoded bytes shared by every client of the format.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim never creates a wait handle (only WaitAsync), so there is nothing to dispose.")]
public sealed class WebSocketSession
{
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly WebSocketStreamingOptions _options;
    private readonly BatchingWebSocketStream? _batch;
    private readonly List<Func<long>> _dropCounters = [];
    private long _droppedAtLastCheck;
    private long _sent;

    public WebSocketSession(WebSocket socket, HttpContext context, WebSocketStreamingOptions options)
    {
        Socket = socket;
        Context = context;
        _options = options;
        _batch = context.Features.Get<BatchingWebSocketStream>(); // absent when the server did not install the batching stream
    }

    public WebSocket Socket { get; }

    public HttpContext Context { get; }

    public long MessagesSent => Interlocked.Read(ref _sent);

    /// <summary>Why the server closed, when it did.</summary>
    public (WebSocketCloseStatus Status, string Reason)? ClosedBecause { get; private set; }

    /// <summary>Counts a queue's drops towards the slow-client limit.</summary>
    public void WatchDrops(Func<long> dropped)
    {
        lock (_dropCounters)
        {
            _dropCounters.Add(dropped);
        }
    }

    /// <summary>Messages lost since the previous check; the supervisor closes the session past the limit.</summary>
    internal bool IsTooSlow()
    {
        long total = 0;
        lock (_dropCounters)
        {
            foreach (var counter in _dropCounters)
            {
                total += counter();
            }
        }

        var lost = total - _droppedAtLastCheck;
        if (lost < _options.MaxDroppedBeforeClose)
        {
            if (Socket.State == WebSocketState.Open && lost == 0)
            {
                _droppedAtLastCheck = total; // it kept up since the last check: start counting afresh
            }

            return false;
        }

        return true;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message)
    {
        await _sendLock.WaitAsync();
        try
        {
            if (Socket.State == WebSocketState.Open)
            {
                await Socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                Interlocked.Increment(ref _sent);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends everything the reader yields until it ends or the socket closes. Empty encodings are skipped.</summary>
    public async Task PumpAsync<T>(IEventReader<T> reader, Func<T, ReadOnlyMemory<byte>> encode)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(encode);
        try
        {
            while (await reader.WaitToReadAsync() && Socket.State == WebSocketState.Open)
            {
                // Everything queued (up to the limit) goes out as one write: a lagging client gets fewer, larger writes.
                await _sendLock.WaitAsync();
                _batch?.Begin();
                try
                {
                    var sent = 0;
                    while (sent < _options.MaxMessagesPerWrite && reader.TryRead(out var item))
                    {
                        var message = encode(item);
                        if (!message.IsEmpty && Socket.State == WebSocketState.Open)
                        {
                            await Socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                            sent++;
                        }
                    }

                    Interlocked.Add(ref _sent, sent);
                }
                finally
                {
                    try
                    {
                        if (_batch is not null)
                        {
                            await _batch.EndAsync();
                        }
                    }
                    finally
                    {
                        _sendLock.Release();
                    }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The connection is gone; the receive loop sees it too.
        }
    }

    /// <summary>
    /// Reads the client's messages until it closes. Text messages go to <paramref name="onText"/>; one larger than the limit
    /// closes the connection with 1009 (message too big).
    /// </summary>
    public async Task ReceiveAsync(Func<ReadOnlyMemory<byte>, ValueTask>? onText, CancellationToken stopping)
    {
        // A cancelled receive aborts a WebSocket without the close handshake, so shutdown sends the close frame instead
        // and this loop ends when the client answers it.
        using var onStopping = stopping.Register(() => _ = CloseForShutdownAsync());
        var buffer = ArrayPool<byte>.Shared.Rent(_options.MaxIncomingMessageBytes);
        try
        {
            while (Socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == _options.MaxIncomingMessageBytes)
                    {
                        await CloseAsync(WebSocketCloseStatus.MessageTooBig, $"messages are limited to {_options.MaxIncomingMessageBytes} bytes");
                        return;
                    }

                    result = await Socket.ReceiveAsync(buffer.AsMemory(length, _options.MaxIncomingMessageBytes - length), CancellationToken.None);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(WebSocketCloseStatus.NormalClosure, "bye");
                    return;
                }

                if (result.MessageType == WebSocketMessageType.Text && onText is not null)
                {
                    await onText(buffer.AsMemory(0, length));
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client vanished without a close handshake.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task CloseForShutdownAsync()
    {
        await CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "server shutting down");
        await Task.Delay(TimeSpan.FromSeconds(2));
        if (Socket.State != WebSocketState.Closed)
        {
            Context.Abort(); // the client did not answer the close: shutdown does not wait for it
        }
    }

    /// <summary>Sends the close frame (after any send in progress); a client that takes too long to accept it is cut off.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        ClosedBecause ??= (status, reason);
        if (!await _sendLock.WaitAsync(TimeSpan.FromSeconds(2)))
        {
            Context.Abort(); // a send is stuck on a client that does not read
            return;
        }

        try
        {
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Socket.CloseOutputAsync(status, reason, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
