namespace Wattstream.Sources.Http;

/// <summary>
/// Passes a line-oriented stream through, except lines longer than a limit: those are dropped as they arrive, never
/// buffered whole (only their line ending is kept). Counts bytes; <see cref="OnLineDropped"/> reports each dropped line.
/// </summary>
/// <remarks>A line is held back only up to the limit; past it the held part is discarded and the rest skipped to its end.</remarks>
public sealed class LineLimitingStream(Stream inner, int maxLineBytes) : Stream
{
    private readonly byte[] _line = new byte[maxLineBytes];
    private readonly byte[] _read = new byte[16 * 1024];
    private int _lineLength;
    private bool _skipping;
    private int _pendingStart;
    private int _pendingEnd;
    private byte[] _pending = new byte[16 * 1024];

    public long BytesRead { get; private set; }

    /// <summary>Called when a line is dropped.</summary>
    public Action? OnLineDropped { get; set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_pendingStart == _pendingEnd)
        {
            var n = await inner.ReadAsync(_read, cancellationToken);
            if (n == 0)
            {
                // End of stream: whatever partial line is held goes out as it is (a cut stream ends mid-line).
                if (_lineLength == 0 || _skipping)
                {
                    return 0;
                }

                Emit(_line.AsSpan(0, _lineLength));
                _lineLength = 0;
                break;
            }

            BytesRead += n;
            Process(_read.AsSpan(0, n));
        }

        var count = Math.Min(buffer.Length, _pendingEnd - _pendingStart);
        _pending.AsSpan(_pendingStart, count).CopyTo(buffer.Span);
        _pendingStart += count;
        return count;
    }

    private void Process(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOfAny((byte)'\n', (byte)'\r');
            var part = newline < 0 ? data : data[..(newline + 1)];
            if (_skipping)
            {
                if (newline >= 0)
                {
                    _skipping = false;
                    Emit(part[^1..]); // keep the line ending so the parser still sees the line boundary
                }
            }
            else if (_lineLength + part.Length > _line.Length)
            {
                _lineLength = 0;
                OnLineDropped?.Invoke();
                _skipping = newline < 0;
                if (newline >= 0)
                {
                    Emit(part[^1..]);
                }
            }
            else
            {
                part.CopyTo(_line.AsSpan(_lineLength));
                _lineLength += part.Length;
                if (newline >= 0)
                {
                    Emit(_line.AsSpan(0, _lineLength));
                    _lineLength = 0;
                }
            }

            data = data[part.Length..];
        }
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        if (_pendingStart == _pendingEnd)
        {
            _pendingStart = _pendingEnd = 0;
        }

        if (_pendingEnd + bytes.Length > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingEnd + bytes.Length));
        }

        bytes.CopyTo(_pending.AsSpan(_pendingEnd));
        _pendingEnd += bytes.Length;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
