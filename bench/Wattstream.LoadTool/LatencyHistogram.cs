namespace Wattstream.LoadTool;

/// <summary>
/// Latencies in microseconds, lock-free: 1 µs buckets below 1 ms, 10 µs below 10 ms, 100 µs below 1 s, then one overflow
/// bucket. Percentiles are exact to the bucket width.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly long[] _buckets = new long[1000 + 900 + 9900 + 1];
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Record(long micros)
    {
        Interlocked.Increment(ref _buckets[Index(Math.Max(0, micros))]);
        Interlocked.Increment(ref _count);
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
