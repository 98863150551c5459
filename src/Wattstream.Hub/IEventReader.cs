namespace Wattstream.Hub;

/// <summary>A queue a transport drains: wait, then take everything available. Disposing it ends the wait.</summary>
public interface IEventReader<T> : IDisposable
{
    ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default);

    bool TryRead(out T item);
}
