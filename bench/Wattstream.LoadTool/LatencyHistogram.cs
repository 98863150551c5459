namespace Wattstream.LoadTool;

/// <summary>
/// Latencies in microseconds, lock-free: 1 µs buckets below 1 ms, 10 µs below 10 ms, 100 µs below 1 s, then one overflow
/// bucket. Percentiles are exact to the bucket width.
/// </summary>
/// <remarks>
/// Samples timed from a publish time (UTC ticks) to their receipt of half a millisecond or more are also kept, up to
/// <see cref="KeptCapacity"/>, so that <see cref="WithoutPauses"/> can take out those the load tool's own pauses fell
/// into. Shorter ones stay: a pause inside them could have added at most their own half millisecond.
/// </remarks>
public sealed class LatencyHistogram
{
    private const long KeepFromMicros = 500;
    private const int KeptCapacity = 2_000_000;

    private readonly long[] _buckets = new long[1000 + 900 + 9900 + 1];
    private long _count;
    // Pairs of (publish, receipt) UTC ticks. Allocated with the histogram, before anything is measured: allocating 32 MB
    // on the first long sample would itself collect, inside the window.
    private readonly long[] _kept;
    private int _keptCount;

    public LatencyHistogram()
        : this(keep: true)
    {
    }

    private LatencyHistogram(bool keep) => _kept = keep ? new long[2 * KeptCapacity] : [];

    public long Count => Interlocked.Read(ref _count);

    public void Record(long micros)
    {
        Interlocked.Increment(ref _buckets[Index(Math.Max(0, micros))]);
        Interlocked.Increment(ref _count);
    }

    /// <summary>Records the latency from <paramref name="publishedTicks"/> to <paramref name="receivedTicks"/> (UTC ticks), keeping the pair if it is long enough to have held a pause.</summary>
    public void Record(long publishedTicks, long receivedTicks)
    {
        var micros = (receivedTicks - publishedTicks) / 10;
        Record(micros);
        if (micros < KeepFromMicros)
        {
            return;
        }

        var slot = Interlocked.Increment(ref _keptCount) - 1;
        if (slot < KeptCapacity)
        {
            _kept[2 * slot] = publishedTicks;
            _kept[(2 * slot) + 1] = receivedTicks;
        }
    }

    /// <summary>
    /// A copy without the samples whose way from publish to receipt overlapped one of <paramref name="pauses"/>, and how
    /// many were taken out; null when more samples were long enough to keep than fit (e.g. at saturation).
    /// </summary>
    public (LatencyHistogram Histogram, long Removed)? WithoutPauses((long From, long To)[] pauses)
    {
        var keptCount = Volatile.Read(ref _keptCount);
        if (keptCount > KeptCapacity)
        {
            return null;
        }

        var copy = new LatencyHistogram(keep: false);
        Array.Copy(_buckets, copy._buckets, _buckets.Length);
        copy._count = Count;
        long removed = 0;
        for (var i = 0; i < keptCount && pauses.Length > 0; i++)
        {
            var (published, received) = (_kept[2 * i], _kept[(2 * i) + 1]);
            if (received != 0 && ToolPauses.Overlaps(pauses, published, received))
            {
                copy._buckets[Index((received - published) / 10)]--;
                copy._count--;
                removed++;
            }
        }

        return (copy, removed);
    }

    private static int Index(long us) => us switch
    {
        < 1000 => (int)us,
        < 10_000 => 1000 + (int)((us - 1000) / 10),
        < 1_000_000 => 1900 + (int)((us - 10_000) / 100),
        _ => 11_800,
    };

    private static long UpperBound(int index) => index switch
    {
        < 1000 => index + 1,
        < 1900 => 1000 + ((index - 1000 + 1) * 10),
        < 11_800 => 10_000 + ((index - 1900 + 1) * 100),
        _ => long.MaxValue,
    };

    /// <summary>The latency at or below which <paramref name="fraction"/> of the samples lie, in µs.</summary>
    public long Percentile(double fraction)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(fraction * total);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank)
            {
                return UpperBound(i);
            }
        }

        return long.MaxValue;
    }
}
