using Wattstream.Telemetry;

namespace Wattstream.Storage;

/// <summary>
/// The readings of durable pushes not committed yet, each tracked by its key in the store, (DER, timestamp): never by "everything
/// up to the last stored event", since the writer's queue may have dropped events below that. The full queue hands a durable
/// reading it drops here instead (<see cref="TryHold"/>), so the writer still stores it; a push's duplicate is written again
/// (the store keeps a reading once, so that is harmless when the first one is stored, and saves it when it was dropped).
/// At most <see cref="Reserve"/> readings are tracked at once: what the queue may hold beyond its capacity.
/// </summary>
public sealed class DurableReadings(int reserve)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Subject, long Timestamp), List<DurablePush>> _pending = [];
    private readonly List<StoredReading> _held = [];
    private readonly List<StoredReading> _rewrites = [];
    private int _count;

    /// <summary>Readings of durable pushes that may wait for the store at once.</summary>
    public int Reserve { get; } = reserve;

    /// <summary>Readings of durable pushes not committed yet.</summary>
    public int Pending => Volatile.Read(ref _count);

    /// <summary>Tracks the readings of one durable push, before they are published; null when the reserve has no room for them.</summary>
    public DurablePush? TryBegin(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        lock (_gate)
        {
            if (_count + readings.Count > Reserve)
            {
                return null;
            }

            var push = new DurablePush(this, readings);
            foreach (var reading in readings)
            {
                var key = Key(reading);
                if (!_pending.TryGetValue(key, out var pushes))
                {
                    _pending[key] = pushes = [];
                }

                pushes.Add(push);
            }

            Volatile.Write(ref _count, _count + readings.Count);
            return push;
        }
    }

    /// <summary>The full queue drops an event: kept here when a durable push waits for it (under the hub's publish lock).</summary>
    public bool TryHold(StoredReading dropped)
    {
        lock (_gate)
        {
            if (!_pending.ContainsKey(Key(dropped.Reading)))
            {
                return false;
            }

            _held.Add(dropped);
            return true;
        }
    }

    /// <summary>
    /// Moves what must be written with the next batch into it: held readings always; duplicates to write again only when the
    /// queue was drained (<paramref name="drained"/>), so the first copy, if it is still queued, is written first with its own
    /// event id.
    /// </summary>
    public void TakeInto(List<StoredReading> batch, bool drained)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return;
        }

        lock (_gate)
        {
            batch.AddRange(_held);
            _held.Clear();
            if (drained)
            {
                batch.AddRange(_rewrites);
                _rewrites.Clear();
            }
        }
    }

    /// <summary>A batch is committed: the durable pushes waiting for its readings learn it.</summary>
    public void Committed(List<StoredReading> batch)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return; // the healthy path without durable pushes: one read per batch
        }

        lock (_gate)
        {
            foreach (var stored in batch)
            {
                if (_pending.Remove(Key(stored.Reading), out var pushes))
                {
                    foreach (var push in pushes)
                    {
                        push.OneStored();
                    }

                    Volatile.Write(ref _count, _count - pushes.Count);
                }
            }
        }
    }

    /// <summary>What is held and not written yet, taken out (the writer gives up at shutdown).</summary>
    public List<StoredReading> Abandon()
    {
        lock (_gate)
        {
            List<StoredReading> left = [.. _held, .. _rewrites];
            _held.Clear();
            _rewrites.Clear();
            return left;
        }
    }

    internal void Rewrite(DurablePush push, StoredReading reading)
    {
        lock (_gate)
        {
            if (_pending.TryGetValue(Key(reading.Reading), out var pushes) && pushes.Contains(push))
            {
                _rewrites.Add(reading);
            }
        }
    }

    internal void Release(DurablePush push, Reading reading)
    {
        lock (_gate)
        {
            var key = Key(reading);
            if (_pending.TryGetValue(key, out var pushes) && pushes.Remove(push))
            {
                if (pushes.Count == 0)
                {
                    _pending.Remove(key);
                    _held.RemoveAll(h => Key(h.Reading) == key);
                    _rewrites.RemoveAll(h => Key(h.Reading) == key);
                }

                Volatile.Write(ref _count, _count - 1);
                push.OneStored(); // not stored, but no longer waited for
            }
        }
    }

    private static (string, long) Key(Reading reading) => (reading.Der.Subject, reading.Timestamp);
}

/// <summary>
/// The readings of one durable push: <see cref="StoredAsync"/> completes once each is committed. Dispose it when the push
/// stops waiting (answered, timed out, cancelled): what was not committed is no longer tracked.
/// </summary>
public sealed class DurablePush : IDisposable
{
    private readonly DurableReadings _owner;
    private readonly IReadOnlyList<Reading> _readings;
    private readonly TaskCompletionSource _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _remaining;

    internal DurablePush(DurableReadings owner, IReadOnlyList<Reading> readings)
    {
        _owner = owner;
        _readings = readings;
        _remaining = readings.Count;
        if (_remaining == 0)
        {
            _stored.TrySetResult();
        }
    }

    /// <summary>Completes once every reading of the push that was not let go (<see cref="Release"/>) is committed.</summary>
    public Task StoredAsync => _stored.Task;

    /// <summary>A reading the hub refused (a limit): not stored, not waited for.</summary>
    public void Release(Reading reading) => _owner.Release(this, reading);

    /// <summary>
    /// A reading the hub took for a duplicate: it is written again (at <paramref name="position"/> if the first copy was lost),
    /// since the first copy may have been dropped before it was stored.
    /// </summary>
    public void WriteAgain(Reading reading, EventPosition position) => _owner.Rewrite(this, new StoredReading(position, reading));

    internal void OneStored()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _stored.TrySetResult();
        }
    }

    public void Dispose()
    {
        if (_stored.Task.IsCompleted)
        {
            return;
        }

        foreach (var reading in _readings)
        {
            _owner.Release(this, reading);
        }
    }
}
