using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Transports.Sse;

/// <summary>
/// An open <c>text/event-stream</c> response as a frame transport: frames are copied into Kestrel's response pipe and
/// leave with one flush per batch.
/// </summary>
internal sealed class SseTransport(HttpContext context) : IFrameTransport
{
    private readonly PipeWriter _writer = context.Response.BodyWriter;
    private bool _unflushed = true; // the first flush sends the headers, even with nothing else to say

    public string Name => "sse";

    public CancellationToken Closed => context.RequestAborted;

    public ReadOnlyMemory<byte> Heartbeat => SseFrame.Heartbeat;

    public void BeginBatch()
    {
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> frame)
    {
        _writer.Write(frame.Span);
        _unflushed = true;
        return default;
    }

    public ValueTask<bool> FlushAsync()
    {
        if (!_unflushed)
        {
            return new ValueTask<bool>(true);
        }

        _unflushed = false;
        var flush = _writer.FlushAsync();
        return flush.IsCompletedSuccessfully ? new ValueTask<bool>(IsOpen(flush.Result)) : AwaitFlushAsync(flush);
    }

    // SSE has no goodbye frame: closing a stream of a client too slow to read is cutting the connection (the client may
    // resume). An expired token or a revoked key is said as a last event, so a client knows to fetch a new credential
    // rather than retry with the old one; the response then ends normally when the session ends its pumps.
    public async Task CloseAsync(CloseReason reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var last = reason.Kind switch
        {
            CloseKind.TokenExpired => SseFrame.AuthExpired,
            CloseKind.Revoked => SseFrame.AuthRevoked,
            _ => ReadOnlyMemory<byte>.Empty,
        };
        if (!last.IsEmpty)
        {
            _writer.Write(last.Span);
            await _writer.FlushAsync(cancellationToken);
            return;
        }

        context.Abort();
    }

    public void Abort() => context.Abort();

    private static bool IsOpen(FlushResult result) => !result.IsCompleted && !result.IsCanceled;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> AwaitFlushAsync(ValueTask<FlushResult> flush) => IsOpen(await flush);
}
