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

    /// <summary>
    /// From now on, tells <paramref name="watcher"/> each time an item is lost. It is called on the publisher's thread,
    /// so it must be brief; the stream session uses it to come under the slow-client rule only once it loses something,
    /// rather than being looked at every second with every other session.
    /// </summary>
    void WatchDrops(IDropWatcher watcher);
}

/// <summary>Told when a queue it watches loses an item (see <see cref="IEventQueue.WatchDrops"/>).</summary>
public interface IDropWatcher
{
    /// <summary>An item was lost; called on the publisher's thread, so it must be brief.</summary>
    void ItemDropped();
}
