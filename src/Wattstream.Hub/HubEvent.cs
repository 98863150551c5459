using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// A reading the hub accepted, with its event id. Every subscriber receives the same instance, and the bytes of
/// each wire format are computed once and cached here.
/// </summary>
public sealed class HubEvent
{
    private Encoding? _encodings;

    internal HubEvent(long epoch, long id, Reading reading)
    {
        Epoch = epoch;
        Id = id;
        Reading = reading;
    }

    /// <summary>An event of an earlier run, read back from history, with the id it had then.</summary>
    public static HubEvent FromHistory(long epoch, long id, Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        return new HubEvent(epoch, id, reading);
    }

    /// <summary>The run of the hub that accepted the event (<see cref="TelemetryHub.Epoch"/>).</summary>
    public long Epoch { get; }

    /// <summary>Monotonically increasing within one run of the hub.</summary>
    public long Id { get; }

    public Reading Reading { get; }

    /// <summary>
    /// The reading became its DER's last value when accepted; false for one older than the DER's newest (a late push,
    /// a replay), which subscribers that keep the present (summaries) can pass over. Set before subscribers see it.
    /// </summary>
    public bool WasNewest { get; internal set; }

    public string Subject => Reading.Der.Subject;

    /// <summary>The event in <paramref name="encoder"/>'s format, encoded on first use and shared afterwards.</summary>
    public ReadOnlyMemory<byte> GetEncoded(WireEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var head = Volatile.Read(ref _encodings);
        if (Find(head, encoder) is { } found)
        {
            return found;
        }

        var bytes = encoder.Encode(this);
        var node = new Encoding(encoder, bytes);
        while (true)
        {
            node.Next = head;
            var seen = Interlocked.CompareExchange(ref _encodings, node, head);
            if (ReferenceEquals(seen, head))
            {
                return bytes;
            }

            // Another thread added an encoding meanwhile; if it was this one, use theirs so all share one array.
            head = seen;
            if (Find(head, encoder) is { } theirs)
            {
                return theirs;
            }
        }
    }

    private static byte[]? Find(Encoding? node, WireEncoder encoder)
    {
        for (; node is not null; node = node.Next)
        {
            if (ReferenceEquals(node.Encoder, encoder))
            {
                return node.Bytes;
            }
        }

        return null;
    }

    public override string ToString() => $"#{Id} {Subject}";

    private sealed class Encoding(WireEncoder encoder, byte[] bytes)
    {
        public WireEncoder Encoder { get; } = encoder;

        public byte[] Bytes { get; } = bytes;

        public Encoding? Next { get; set; }
    }
}
