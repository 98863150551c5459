using Wattstream.Telemetry;

namespace Wattstream.Hub;

// Event ids and where they start: this run's own count from 1, an earlier run's (ContinueAt), or the cluster's log, the
// cluster seam (AttachLog, Deliver): readings made here go to the log and become events only when the log delivers them,
// with its sequence as their id. A part of the hub, not a class of its own, because it is the publish path's own state:
// the same lock, the same acceptance and the same id count.
public sealed partial class TelemetryHub
{
    /// <summary>
    /// Identifies the sequence event ids count in: the store's (kept across clean restarts, <see cref="ContinueAt"/>), this
    /// run's start time (epoch ms) without a store, or in cluster mode the shared log's identity. Event ids are only
    /// comparable within one epoch.
    /// </summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>
    /// Counts event ids on from an earlier run: <paramref name="firstSequence"/> in <paramref name="epoch"/> (the store's,
    /// which a clean stop kept), so ids given out before a restart stay positions in the same sequence. Only before the
    /// first event, and not in cluster mode (the log's sequence is the count there).
    /// </summary>
    public void ContinueAt(long epoch, long firstSequence)
    {
        lock (_gate)
        {
            StartAt(epoch, firstSequence, "A hub continues an earlier run's ids only before it has accepted anything, and never with a log attached.");
        }
    }

    /// <summary>The id the next accepted event gets (cluster mode: the sequence after the last one delivered).</summary>
    public long NextSequence
    {
        get
        {
            lock (_gate)
            {
                return _nextId;
            }
        }
    }

    /// <summary>
    /// Cluster mode: waits until this hub has been delivered every reading the log holds now, so that its last values
    /// include them (a node taking a job over continues from there). False when <paramref name="timeout"/> passed first
    /// or the log could not be asked; true at once without a log.
    /// </summary>
    public async Task<bool> CatchUpWithLogAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (Log is not { } log)
        {
            return true;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var last = await log.LastSequenceAsync(deadline.Token);
            while (NextSequence <= last)
            {
                await Task.Delay(10, deadline.Token);
            }

            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return false; // the log is away: the caller goes on from what this hub has
        }
    }

    private void StartAt(long epoch, long firstSequence, string refusal)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(firstSequence, 1);
        if (_accepted > 0 || _log is not null)
        {
            throw new InvalidOperationException(refusal);
        }

        _epoch = epoch;
        _nextId = firstSequence;
        _firstId = firstSequence;
    }

    /// <summary>The cluster's log, when readings made on this node go there first (<see cref="AttachLog"/>).</summary>
    public IReadingLog? Log => Volatile.Read(ref _log);

    /// <summary>
    /// Cluster mode: from now on readings published here go to <paramref name="log"/>, and events enter the hub only
    /// through <see cref="Deliver"/> with the log's sequence as their id, counted in <paramref name="epoch"/>. Every node
    /// of the cluster then gives the same reading the same id. Only before the first event.
    /// </summary>
    public void AttachLog(IReadingLog log, long epoch, long firstSequence)
    {
        ArgumentNullException.ThrowIfNull(log);
        lock (_gate)
        {
            StartAt(epoch, firstSequence, "A log can only be attached to a hub that has accepted nothing yet.");
            Volatile.Write(ref _log, log);
        }
    }

    /// <summary>
    /// Cluster mode: a reading the log delivers, with its sequence as the event id. Sequences only grow; one the hub has
    /// passed already (a consumer delivering again after a reconnect) is a duplicate. A sequence the hub skips (a message
    /// that was no reading) is simply no event.
    /// </summary>
    public PublishResult Deliver(Reading reading, long sequence)
    {
        ArgumentNullException.ThrowIfNull(reading);
        lock (_gate)
        {
            if (sequence < _nextId)
            {
                _duplicates++;
                return new PublishResult(PublishOutcome.Duplicate, null);
            }

            var result = Accept(reading, sequence);
            _nextId = sequence + 1; // a refused one too: that sequence is no event, on every node alike
            return result;
        }
    }
}
