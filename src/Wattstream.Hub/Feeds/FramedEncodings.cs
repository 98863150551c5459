namespace Wattstream.Hub.Feeds;

/// <summary>
/// An item's bytes in each transport's framing (an SSE event, a <c>/ws</c> message), made on first use and shared by
/// every client of that framing: what <see cref="HubEvent.GetEncoded"/> does for readings, for items of the feeds
/// beside them (alerts, site summaries), which are few enough for a lock.
/// </summary>
public sealed class FramedEncodings
{
    private readonly Lock _gate = new();
    private readonly List<(object Framing, byte[] Bytes)> _encodings = new(2);

    public ReadOnlyMemory<byte> Get<T>(T item, object framing, Func<T, byte[]> encode)
    {
        ArgumentNullException.ThrowIfNull(framing);
        ArgumentNullException.ThrowIfNull(encode);
        lock (_gate)
        {
            foreach (var (key, bytes) in _encodings)
            {
                if (ReferenceEquals(key, framing))
                {
                    return bytes;
                }
            }

            var made = encode(item);
            _encodings.Add((framing, made));
            return made;
        }
    }
}
