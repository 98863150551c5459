using Wattstream.Hub;

namespace Wattstream.Streaming.Feeds;

/// <summary>One item of a feed as a NATS message.</summary>
/// <param name="Subject">Its subject.</param>
/// <param name="Payload">Its bytes, shared with every other reader.</param>
/// <param name="MessageId">For a feed published to the stream: the id JetStream de-duplicates by.</param>
public readonly record struct FeedMessage(string Subject, ReadOnlyMemory<byte> Payload, string? MessageId = null);

/// <summary>A publisher's queue of a feed: every item from now on, as NATS messages, dropping the oldest when full.</summary>
public interface IFeedMessages : IEventQueue
{
    ValueTask<bool> WaitToReadAsync();

    bool TryRead(out FeedMessage message);
}

/// <summary>A feed's queue read as NATS messages.</summary>
public sealed class FeedMessages<T>(IEventReader<T> reader, Func<T, FeedMessage> toMessage) : IFeedMessages
{
    public long Dropped => reader.Dropped;

    public int SnapshotRemaining => reader.SnapshotRemaining;

    public void WatchDrops(IDropWatcher watcher) => reader.WatchDrops(watcher);

    // No token: disposing the queue ends the wait (a cancellable wait allocates).
    public ValueTask<bool> WaitToReadAsync() => reader.WaitToReadAsync();

    public bool TryRead(out FeedMessage message)
    {
        if (reader.TryRead(out var item))
        {
            message = toMessage(item);
            return true;
        }

        message = default;
        return false;
    }

    public void Dispose() => reader.Dispose();
}
