namespace Wattstream.Storage;

/// <summary>The history writer's counts of committed batches, for <see cref="StorageStatus"/>.</summary>
internal sealed class HistoryBatchStats
{
    private long _written;
    private long _duplicates;
    private long _batches;
    private long _lagMs;
    private double _lastBatchMs;

    public long Written => Interlocked.Read(ref _written);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Batches => Interlocked.Read(ref _batches);

    public double LagSeconds => Interlocked.Read(ref _lagMs) / 1000.0;

    public double LastBatchMilliseconds => Volatile.Read(ref _lastBatchMs);

    /// <summary>A batch of <paramref name="count"/> readings was committed, <paramref name="inserted"/> of them new.</summary>
    /// <param name="lagMs">How far the batch's newest reading is behind now.</param>
    public void Committed(int count, int inserted, TimeSpan took, long lagMs)
    {
        Interlocked.Add(ref _written, inserted);
        Interlocked.Add(ref _duplicates, count - inserted);
        Interlocked.Increment(ref _batches);
        Volatile.Write(ref _lastBatchMs, took.TotalMilliseconds);
        Interlocked.Exchange(ref _lagMs, Math.Max(0, lagMs));
    }
}
