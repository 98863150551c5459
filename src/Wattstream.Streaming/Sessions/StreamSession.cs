using System.Diagnostics.CodeAnalysis;
using System.Net.WebSockets;
using Wattstream.Hub;

namespace Wattstream.Streaming.Sessions;

/// <summary>
/// One client connection, whatever its transport: serialised sends, the coalescing send loop, idle tracking for
/// heartbeats, and the drop counters the slow-client rule reads. Frames are bytes shared by every client of a format.
/// </summary>
/// <remarks>
/// Several pumps may feed one session (a <c>/ws</c> connection with many subscriptions); the send lock keeps their
/// batches whole. The lock is this connection's alone: no lock is shared between connections. Created and tracked by
/// <see cref="StreamSupervisor.Open"/>; disposing the session stops the tracking.
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim never creates a wait handle (only WaitAsync and Wait(0)), so there is nothing to dispose; disposing it would race the supervisor's heartbeat.")]
public sealed class StreamSession : IDisposable, IDropWatcher
{
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly StreamSupervisor _supervisor;
    private IEventQueue? _queue; // most sessions drain one queue: no list for them (idle connections are counted in KB)
    private List<IEventQueue>? _moreQueues;
    private long _lastWrite;
    private long _framesSent;
    private long _droppedAtLastCheck;
    private long _droppedWhenLastKeptUp; // the slow-client rule counts losses from here
    private long _framesAtLastCheck;
    private long _droppedWhenSnapshotWritten = -1; // set by a pump that has written its snapshot, taken by the supervisor
    private int _watched; // 1 while the supervisor's slow-client check looks at this session (it lost something lately)
    private long _watchedAt; // when it last came under watch, and how many frames it had been sent by then
    private long _framesWhenWatched;
    private long _lastCheckAt;
    private CloseReason? _closedBecause;
    private bool _disposed;

    internal StreamSession(IFrameTransport transport, StreamSupervisor supervisor, StreamCredential? credential, string family)
    {
        Transport = transport;
        _supervisor = supervisor;
        Credential = credential;
        Family = family;
        _lastWrite = supervisor.Time.GetTimestamp();
    }

    private StreamingOptions Options => _supervisor.Options;

    private TimeProvider Time => _supervisor.Time;

    public IFrameTransport Transport { get; }

    /// <summary>The wire family whose endpoint opened the session ("whatwatt", "hes", "general", …), for metrics.</summary>
    public string Family { get; }

    /// <summary>What the caller opened the stream with; the supervisor ends the stream when it expires or is revoked. Null: an anonymous caller.</summary>
    public StreamCredential? Credential { get; }

    /// <summary>When the caller's credentials expire; the supervisor ends the stream then. Null: they do not.</summary>
    public DateTimeOffset? ExpiresAt => Credential?.ExpiresAt;

    /// <summary>Frames written to the client so far.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>Events lost by every queue this session drains.</summary>
    public long Dropped => SumOverQueues(static q => q.Dropped);

    /// <summary>Why the server closed the connection, when it did.</summary>
    public CloseReason? ClosedBecause => Volatile.Read(ref _closedBecause);

    internal TimeSpan Idle => Time.GetElapsedTime(Interlocked.Read(ref _lastWrite));

    /// <summary>
    /// Sends everything <paramref name="reader"/> yields until it ends (disposed, or the hub is stopping) or the client
    /// goes away; up to <see cref="StreamingOptions.MaxFramesPerWrite"/> queued frames go out in one write, so a client
    /// that lags gets fewer, larger writes. <paramref name="encode"/> gives an item's frame, or empty to skip it.
    /// </summary>
    public async Task PumpAsync<T>(IEventReader<T> reader, Func<T, ReadOnlyMemory<byte>> encode)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(encode);
        if (Interlocked.CompareExchange(ref _queue, reader, null) is not null)
        {
            var more = LazyInitializer.EnsureInitialized(ref _moreQueues);
            lock (more)
            {
                more.Add(reader);
            }
        }

        // The slow-client rule looks at this session once it loses something, or while a snapshot is written.
        reader.WatchDrops(this);
        var snapshot = reader.SnapshotRemaining > 0;
        if (snapshot || reader.Dropped > 0)
        {
            ItemDropped();
        }

        // The client going away disposes the reader, which ends the wait: a wait without a token allocates nothing.
        using var abort = Transport.Closed.Register(static r => ((IDisposable)r!).Dispose(), reader);
        try
        {
            while (await reader.WaitToReadAsync())
            {
                await _sendLock.WaitAsync();
                try
                {
                    if (Volatile.Read(ref _closedBecause) is not null)
                    {
                        return; // the goodbye is said (an SSE stream's last event): nothing may follow it
                    }

                    var written = 0;
                    bool open;
                    Transport.BeginBatch();
                    try
                    {
                        while (written < Options.MaxFramesPerWrite && reader.TryRead(out var item))
                        {
                            var frame = encode(item);
                            if (!frame.IsEmpty)
                            {
                                await Transport.WriteAsync(frame);
                                written++;
                            }
                        }
                    }
                    finally
                    {
                        open = await Transport.FlushAsync();
                    }

                    if (written > 0)
                    {
                        Interlocked.Add(ref _framesSent, written);
                        Interlocked.Exchange(ref _lastWrite, Time.GetTimestamp());
                    }

                    if (snapshot && reader.SnapshotRemaining == 0)
                    {
                        // Written: from here on the slow-client rule counts what the live queue loses.
                        snapshot = false;
                        Interlocked.Exchange(ref _droppedWhenSnapshotWritten, Dropped);
                    }

                    if (!open)
                    {
                        return;
                    }
                }
                finally
                {
                    _sendLock.Release();
                }
            }
        }
        catch (Exception e) when (IsDisconnect(e))
        {
            // The client is gone; whoever owns the connection sees that too.
        }
    }

    /// <summary>Sends one frame now (a greeting, an answer, a notice before the stream's events).</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> frame) => SendAsync([frame]);

    /// <summary>Sends frames now, in one write.</summary>
    public async ValueTask SendAsync(IReadOnlyList<ReadOnlyMemory<byte>> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        await _sendLock.WaitAsync();
        try
        {
            Transport.BeginBatch();
            try
            {
                foreach (var frame in frames)
                {
                    await Transport.WriteAsync(frame);
                }
            }
            finally
            {
                await Transport.FlushAsync();
            }

            Interlocked.Add(ref _framesSent, frames.Count);
            Interlocked.Exchange(ref _lastWrite, Time.GetTimestamp());
        }
        catch (Exception e) when (IsDisconnect(e))
        {
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Says goodbye the transport's way, after any write in progress; a client stuck in a write that never completes
    /// is cut off after <see cref="StreamingOptions.CloseTimeout"/>.
    /// </summary>
    public async Task CloseAsync(CloseReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Interlocked.CompareExchange(ref _closedBecause, reason, null);
        using var timeout = new CancellationTokenSource(Options.CloseTimeout, Time);
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Transport.Abort(); // a write is stuck on a client that does not read
            return;
        }

        try
        {
            await Transport.CloseAsync(reason, timeout.Token);
        }
        catch (Exception e) when (IsDisconnect(e))
        {
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends the transport's heartbeat unless something else is being written; called by the supervisor.</summary>
    internal async Task HeartbeatAsync()
    {
        if (Transport.Heartbeat.IsEmpty || !_sendLock.Wait(0))
        {
            return; // the transport keeps itself alive, or a write is in progress: the stream is not idle
        }

        try
        {
            Transport.BeginBatch();
            await Transport.WriteAsync(Transport.Heartbeat);
            await Transport.FlushAsync();
            Interlocked.Exchange(ref _lastWrite, Time.GetTimestamp());
        }
        catch (Exception e) when (IsDisconnect(e) || e is InvalidOperationException)
        {
            // The client is gone; its pump ends through Closed.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Items of a snapshot (state at connect, a replay) still to be written, over every queue of the session.</summary>
    public long SnapshotRemaining => SumOverQueues(static q => q.SnapshotRemaining);

    private long SumOverQueues(Func<IEventQueue, long> measure)
    {
        var total = Volatile.Read(ref _queue) is { } first ? measure(first) : 0;
        if (Volatile.Read(ref _moreQueues) is { } more)
        {
            lock (more)
            {
                foreach (var queue in more)
                {
                    total += measure(queue);
                }
            }
        }

        return total;
    }

    /// <summary>
    /// The slow-client rule, the same for every transport: a client that has lost at least
    /// <see cref="StreamingOptions.MaxDroppedBeforeClose"/> events since it last kept up (it was sent frames and lost
    /// nothing since the check before) is too slow. A client that reads nothing never keeps up, however far apart the
    /// bursts it loses. While a snapshot is being written, what the live queue loses behind it is not the
    /// client's doing (the snapshot may be far larger than the queue): the client is too slow only when the writing makes
    /// no progress for a heartbeat interval.
    /// </summary>
    internal bool IsTooSlow() => IsTooSlow(out _);

    /// <inheritdoc cref="IsTooSlow()"/>
    /// <param name="quiet">True when it lost nothing since the check before and has no snapshot left to write: the
    /// supervisor stops watching it until it loses something again.</param>
    internal bool IsTooSlow(out bool quiet)
    {
        var total = Dropped;
        var frames = FramesSent;
        var now = Time.GetTimestamp();
        if (Interlocked.Exchange(ref _watchedAt, 0) is var watchedAt and not 0 && _lastCheckAt != 0
            && Time.GetElapsedTime(_lastCheckAt, watchedAt) >= Options.SupervisionInterval && _framesWhenWatched > _framesAtLastCheck)
        {
            // Unwatched since its last check, it was sent frames and lost nothing for at least a check's interval
            // before it lost again: a check in between would have found it keeping up, so count afresh from there.
            _droppedWhenLastKeptUp = _droppedAtLastCheck;
        }

        _lastCheckAt = now;
        var sentSinceLastCheck = frames > _framesAtLastCheck;
        _framesAtLastCheck = frames;
        quiet = false;
        if (SnapshotRemaining > 0)
        {
            _droppedAtLastCheck = total;
            _droppedWhenLastKeptUp = total;
            return Idle >= Options.HeartbeatInterval;
        }

        // A snapshot written since the last check: only what was lost after it counts.
        var writtenAt = Interlocked.Exchange(ref _droppedWhenSnapshotWritten, -1);
        _droppedWhenLastKeptUp = Math.Max(_droppedWhenLastKeptUp, writtenAt);
        quiet = total == _droppedAtLastCheck && writtenAt < 0;
        if (total == _droppedAtLastCheck && sentSinceLastCheck)
        {
            _droppedWhenLastKeptUp = total; // it read and lost nothing since the last check: start counting afresh
        }

        _droppedAtLastCheck = total;
        return total - _droppedWhenLastKeptUp >= Options.MaxDroppedBeforeClose;
    }

    /// <summary>A queue of this session lost an item (on the publisher's thread): the supervisor watches it from now on.</summary>
    public void ItemDropped()
    {
        if (Interlocked.Exchange(ref _watched, 1) == 0)
        {
            Interlocked.Exchange(ref _framesWhenWatched, FramesSent);
            Interlocked.Exchange(ref _watchedAt, Time.GetTimestamp());
            _supervisor.Watch(this);
        }
    }

    /// <summary>
    /// The supervisor stops watching: true when it may, false when a loss came in meanwhile (then it stays watched).
    /// </summary>
    internal bool Unwatch()
    {
        var total = _droppedAtLastCheck;
        Volatile.Write(ref _watched, 0);
        if (Dropped != total)
        {
            // Lost something after the check: ItemDropped saw the flag still set and did not come back, so stay.
            Volatile.Write(ref _watched, 1);
            return false;
        }

        return true;
    }

    /// <summary>True once the connection's owner has disposed the session (its request is over).</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed);

    /// <summary>Ends every pump of the session (after a goodbye): their readers end, so the owners' requests finish normally.</summary>
    internal void EndPumps()
    {
        Volatile.Read(ref _queue)?.Dispose();
        if (Volatile.Read(ref _moreQueues) is { } more)
        {
            lock (more)
            {
                foreach (var queue in more)
                {
                    queue.Dispose();
                }
            }
        }
    }

    public void Dispose()
    {
        if (!Volatile.Read(ref _disposed))
        {
            Volatile.Write(ref _disposed, true);
            _supervisor.Ended(this);
        }

        _supervisor.Untrack(this);
    }

    /// <summary>The exceptions that mean the client went away mid-write.</summary>
    public static bool IsDisconnect(Exception e) => e is OperationCanceledException or IOException or ObjectDisposedException or WebSocketException;
}
