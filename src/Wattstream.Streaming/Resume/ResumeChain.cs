using Wattstream.Hub;

namespace Wattstream.Streaming.Resume;

/// <summary>What a store gave back for a resume: the items between two ids, oldest first, and whether that is all it holds.</summary>
public readonly record struct StoredItems<T>(IReadOnlyList<T> Items, bool Complete);

/// <summary>
/// The resume chain of every feed, written once: the feed's ring (taken with the live subscription under the feed's lock,
/// so nothing falls between), then its store for what the ring no longer holds, then live. A feed with a cluster log
/// waits for the log to reach the client's id first (<see cref="ReadingStreams"/>).
/// </summary>
public static class ResumeChain
{
    /// <summary>
    /// Completes a resume the ring could not (<see cref="ResumeResult.TooOld"/>): reads what <paramref name="readStore"/>
    /// holds before the ring's oldest item (its argument) and puts it first. Complete when the store had everything (it
    /// gave items, or said it holds all, and no more than <paramref name="max"/>); otherwise the client has a gap.
    /// </summary>
    public static async Task<(ResumeOutcome Outcome, int FromStore)> CompleteAsync<T>(
        DropOldestQueue<T> subscription,
        Func<long, CancellationToken, Task<StoredItems<T>>>? readStore,
        Func<T, bool>? accept,
        int max,
        CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(subscription);
        switch (subscription.Resume)
        {
            case ResumeResult.None:
                return (ResumeOutcome.None, 0);
            case ResumeResult.Complete:
                return (ResumeOutcome.Complete, 0);
        }

        if (readStore is null)
        {
            return (ResumeOutcome.Gap, 0);
        }

        var before = subscription.OldestReplayedId ?? ((subscription.ResumedFromId ?? 0) + 1);
        var read = await readStore(before, cancellationToken);
        IReadOnlyList<T> stored = accept is null ? read.Items : [.. read.Items.Where(accept)];
        subscription.PrependFirst(stored);
        var complete = (stored.Count > 0 || read.Complete) && read.Items.Count < max;
        return (complete ? ResumeOutcome.Complete : ResumeOutcome.Gap, stored.Count);
    }
}
