using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Net.Http.Headers;
using Wattstream.Hub;

namespace Wattstream.Server.Streaming;

/// <summary>
/// One open <c>text/event-stream</c> response. It copies pre-encoded frames (shared by every client of the format) into
/// the response pipe, as many as are queued before one flush, so a client that lags gets fewer, larger writes.
/// </summary>
/// <remarks>
/// We write frames ourselves instead of returning <c>TypedResults.ServerSentEvents</c>: that result formats each item
/// per client, where here the bytes of an event are made once for all clients; and it has no comment heartbeats.
/// The writer lock is taken by this connection's pump and, when the stream has been idle, by the heartbeat timer; it is
/// never shared between connections.
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim never creates a wait handle (only WaitAsync and Wait(0)), so there is nothing to dispose; disposing it would race the heartbeat timer.")]
public sealed class SseConnection
{
    private static readonly byte[] HeartbeatFrame = ": heartbeat\n\n"u8.ToArray();
    private readonly PipeWriter _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly int _maxEventsPerFlush;
    private long _lastWriteTicks;
    private long _eventsWritten;

    private SseConnection(HttpContext context, SseOptions options)
    {
        Context = context;
        _writer = context.Response.BodyWriter;
        _maxEventsPerFlush = options.MaxEventsPerFlush;
        _lastWriteTicks = Environment.TickCount64;
    }

    public HttpContext Context { get; }

    public long EventsWritten => Interlocked.Read(ref _eventsWritten);

    internal long IdleMilliseconds => Environment.TickCount64 - Volatile.Read(ref _lastWriteTicks);

    /// <summary>Sends the headers and the <c>retry:</c> line; the stream is open when this returns.</summary>
    public static async Task<SseConnection> StartAsync(HttpContext context, SseOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.Connection = "keep-alive";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();

        var connection = new SseConnection(context, options);
        if (options.RetryMilliseconds > 0)
        {
            connection._writer.Write(Encoding.ASCII.GetBytes($"retry: {options.RetryMilliseconds}\n\n"));
        }

        await connection._writer.FlushAsync(context.RequestAborted);
        return connection;
    }

    /// <summary>Writes one frame now (a notice before the stream's events, say).</summary>
    public async ValueTask WriteFrameAsync(ReadOnlyMemory<byte> frame)
    {
        await _writeLock.WaitAsync();
        try
        {
            _writer.Write(frame.Span);
            await _writer.FlushAsync();
            Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Streams the subscription's events until it ends (the client went away, or the hub is stopping).
    /// <paramref name="encode"/> gives an event's frame, or empty to skip it.
    /// </summary>
    public async Task PumpAsync<T>(IEventReader<T> subscription, Func<T, ReadOnlyMemory<byte>> encode)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(encode);

        // Cancelling disposes the subscription, which ends the wait below: a wait without a token allocates nothing.
        using var abort = Context.RequestAborted.Register(static s => ((IDisposable)s!).Dispose(), subscription);
        while (await subscription.WaitToReadAsync())
        {
            await _writeLock.WaitAsync();
            try
            {
                var written = 0;
                while (written < _maxEventsPerFlush && subscription.TryRead(out var hubEvent))
                {
                    var frame = encode(hubEvent);
                    if (!frame.IsEmpty)
                    {
                        _writer.Write(frame.Span);
                        written++;
                    }
                }

                if (written > 0)
                {
                    Interlocked.Add(ref _eventsWritten, written);
                    var flush = await _writer.FlushAsync();
                    Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
                    if (flush.IsCompleted || flush.IsCanceled)
                    {
                        return;
                    }
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
    }

    /// <summary>Sends a comment if nothing else is being written; called by the heartbeat timer.</summary>
    internal async ValueTask HeartbeatAsync()
    {
        if (!_writeLock.Wait(0))
        {
            return; // the pump is writing: the stream is not idle
        }

        try
        {
            _writer.Write(HeartbeatFrame);
            await _writer.FlushAsync(Context.RequestAborted);
            Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client is gone; its pump ends through RequestAborted.
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
