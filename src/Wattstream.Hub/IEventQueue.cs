namespace Wattstream.Hub;

/// <summary>
/// A bounded queue that may lose items when its reader falls behind; disposing it ends the reader's wait. What it was
/// given at the start (the present state, a replay) waits outside the bound and is never lost.
/// </summary>
public interface IEventQueue : IDisposable
{
    /// <summary>Items lost because the queue was full (the slow-client rule watches it).</summary>
    long Dropped { get; }

    /// <summary>
    /// Items of the start (the snapshot: the present state or a replay) not yet read. While any remain, the reader is
    /// judged by whether it makes progress, not by what the bounded queue behind them loses.
    /// </summary>
    int SnapshotRemaining { get; }
}
