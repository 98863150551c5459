namespace Wattstream.Hub;

/// <summary>A bounded queue that may lose items when its reader falls behind; disposing it ends the reader's wait.</summary>
public interface IEventQueue : IDisposable
{
    /// <summary>Items lost because the queue was full (the slow-client rule watches it).</summary>
    long Dropped { get; }
}

/// <summary>A queue a transport drains: wait, then take everything available.</summary>
public interface IEventReader<T> : IEventQueue
{
    ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default);

    bool TryRead(out T item);
}
