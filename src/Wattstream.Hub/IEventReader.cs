namespace Wattstream.Hub;

/// <summary>A queue a transport drains: wait, then take everything available.</summary>
public interface IEventReader<T> : IEventQueue
{
    ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default);

    bool TryRead(out T item);
}
