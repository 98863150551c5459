namespace Wattstream.Mqtt.Broker;

/// <summary>
/// A device's connection as the broker reads it, refusing any MQTT packet longer than the limit before its body is
/// read: MQTTnet would buffer a whole packet (up to 256 MB) first. It follows the packets' framing as bytes pass — a
/// fixed-header byte, the remaining length (one to four bytes, seven bits each), then that many bytes — and fails the
/// read with <see cref="IOException"/> at a remaining length over the limit, which closes the connection.
/// </summary>
internal sealed class PacketSizeLimit(Stream inner, int maxRemainingLength, Action<long> oversized) : Stream
{
    private int _state; // 0: a packet's first byte; 1: its remaining length; 2: its body
    private long _length;
    private int _shift;
    private long _remaining;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = inner.Read(buffer, offset, count);
        Inspect(buffer.AsSpan(offset, n));
        return n;
    }

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        var n = await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken);
        Inspect(buffer.AsSpan(offset, n));
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Inspect(buffer.Span[..n]);
        return n;
    }

    private void Inspect(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            switch (_state)
            {
                case 0:
                    i++;
                    _state = 1;
                    _length = 0;
                    _shift = 0;
                    break;
                case 1:
                    var b = bytes[i++];
                    _length |= (long)(b & 0x7F) << _shift;
                    _shift += 7;
                    if ((b & 0x80) != 0)
                    {
                        if (_shift >= 28)
                        {
                            throw new IOException("MQTT: a remaining length of more than four bytes");
                        }

                        break;
                    }

                    if (_length > maxRemainingLength)
                    {
                        oversized(_length);
                        throw new IOException($"MQTT: a packet of {_length} bytes (at most {maxRemainingLength})");
                    }

                    _remaining = _length;
                    _state = _remaining == 0 ? 0 : 2;
                    break;
                default:
                    var take = (int)Math.Min(_remaining, bytes.Length - i);
                    i += take;
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = 0;
                    }

                    break;
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

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
