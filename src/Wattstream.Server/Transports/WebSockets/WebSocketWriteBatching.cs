using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.Features;

namespace Wattstream.Server.Transports.WebSockets;

/// <summary>
/// Puts a <see cref="BatchingWebSocketStream"/> under every WebSocket the server accepts, so a session can send the frames of
/// everything a lagging client has queued in one write, as SSE does, instead of one write per message.
/// </summary>
/// <remarks>
/// The WebSocket middleware takes the connection's upgrade features when a request enters it, so this runs just before
/// it and wraps them: the stream they hand over on accept is the batching one, and the session finds it in the features.
/// Frames are still made by the runtime's WebSocket (masking rules, close handshake, pings and pongs stay its job).
/// </remarks>
public static class WebSocketWriteBatching
{
    public static IApplicationBuilder UseWebSocketWriteBatching(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            context.Features.Set<IHttpUpgradeFeature>(new BatchingUpgradeFeature(upgrade, context.Features));
        }
        else if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            context.Features.Set<IHttpExtendedConnectFeature>(new BatchingConnectFeature(connect, context.Features));
        }

        return next(context);
    });

    private static Stream Wrap(Stream stream, IFeatureCollection features)
    {
        var batch = new BatchingWebSocketStream(stream);
        features.Set(batch);
        return batch;
    }

    private sealed class BatchingUpgradeFeature(IHttpUpgradeFeature inner, IFeatureCollection features) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync() => Wrap(await inner.UpgradeAsync(), features);
    }

    private sealed class BatchingConnectFeature(IHttpExtendedConnectFeature inner, IFeatureCollection features) : IHttpExtendedConnectFeature
    {
        public bool IsExtendedConnect => inner.IsExtendedConnect;

        public string? Protocol => inner.Protocol;

        public async ValueTask<Stream> AcceptAsync() => Wrap(await inner.AcceptAsync(), features);
    }
}

/// <summary>
/// The stream under one accepted WebSocket. Between <see cref="Begin"/> and <see cref="EndAsync"/> the frames written to
/// it are gathered in a pooled buffer and go out as one write; outside a batch (pongs, pings, the close handshake,
/// single sends) every write goes straight through. Writes to the connection are serialised, so a pong answered while a
/// batch is being sent follows it.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim never creates a wait handle (only WaitAsync), so there is nothing to dispose.")]
public sealed class BatchingWebSocketStream(Stream inner) : Stream
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _writing = new(1, 1);
    private byte[]? _pending;
    private int _pendingLength;
    private bool _batching;

    /// <summary>Gathers writes until <see cref="EndAsync"/>. Batches do not nest: one sender opens them.</summary>
    public void Begin()
    {
        lock (_gate)
        {
            _batching = true;
        }
    }

    /// <summary>Sends what the batch gathered, in one write, and returns to writing straight through.</summary>
    public async ValueTask EndAsync()
    {
        byte[]? pending;
        int length;
        lock (_gate)
        {
            _batching = false;
            (pending, length) = (_pending, _pendingLength);
            (_pending, _pendingLength) = (null, 0);
        }

        if (pending is null)
        {
            return;
        }

        try
        {
            await WriteThroughAsync(pending.AsMemory(0, length), CancellationToken.None);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_batching)
            {
                Append(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }

        return WriteThroughAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_pending is null || _pendingLength + data.Length > _pending.Length)
        {
            // Pooled, and returned after the batch is sent: an idle connection holds no buffer.
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(16 * 1024, (_pendingLength + data.Length) * 2));
            if (_pending is not null)
            {
                _pending.AsSpan(0, _pendingLength).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_pending);
            }

            _pending = larger;
        }

        data.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += data.Length;
    }

    private async ValueTask WriteThroughAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
