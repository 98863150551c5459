using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Wattstream.Hub;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Streaming.Tests;

/// <summary>
/// <see cref="StreamSession"/> and <see cref="StreamSupervisor"/> on their own: the slow-client rule's boundaries, the
/// frames-per-write limit, heartbeats, and the supervisor closing a session that is too slow.
/// </summary>
public sealed class StreamSessionTests
{
    private const int Limit = 10;

    /// <summary>A queue whose losses the test sets; it yields what <see cref="Deliver"/> gives and ends when disposed.</summary>
    private sealed class LossyQueue : IEventReader<int>
    {
        private readonly TaskCompletionSource<bool> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly System.Threading.Channels.Channel<int> _items = System.Threading.Channels.Channel.CreateUnbounded<int>();

        private IDropWatcher? _watcher;
        private long _dropped;

        /// <summary>Losses so far; setting more tells the watcher, as a real queue does when it drops.</summary>
        public long Dropped
        {
            get => _dropped;
            set
            {
                var more = value > _dropped;
                _dropped = value;
                if (more)
                {
                    _watcher?.ItemDropped();
                }
            }
        }

        public int SnapshotRemaining => 0;

        public void WatchDrops(IDropWatcher watcher) => _watcher = watcher;

        /// <summary>Frames the client reads (the pump writes them): a client that keeps up.</summary>
        public void Deliver(int count)
        {
            for (var i = 0; i < count; i++)
            {
                _items.Writer.TryWrite(i);
            }
        }

        public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            var more = _items.Reader.WaitToReadAsync(cancellationToken).AsTask();
            return await Task.WhenAny(more, _ended.Task) == more && await more;
        }

        public bool TryRead(out int item) => _items.Reader.TryRead(out item);

        public void Dispose()
        {
            _ended.TrySetResult(false);
            _items.Writer.TryComplete();
        }
    }

    /// <summary>A transport that records each write's frames, the heartbeats, and the goodbye.</summary>
    private sealed class RecordingTransport : IFrameTransport
    {
        private readonly List<int> _batches = [];
        private int _open;

        public static readonly byte[] HeartbeatFrame = ": hb\n\n"u8.ToArray();

        public string Name => "test";

        public CancellationToken Closed => CancellationToken.None;

        public ReadOnlyMemory<byte> Heartbeat => HeartbeatFrame;

        public int Heartbeats { get; private set; }

        public CloseReason? ClosedWith { get; private set; }

        public IReadOnlyList<int> Batches
        {
            get
            {
                lock (_batches)
                {
                    return [.. _batches];
                }
            }
        }

        public void BeginBatch() => _open = 0;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> frame)
        {
            if (frame.Span.SequenceEqual(HeartbeatFrame))
            {
                Heartbeats++;
            }
            else
            {
                _open++;
            }

            return default;
        }

        public ValueTask<bool> FlushAsync()
        {
            if (_open > 0)
            {
                lock (_batches)
                {
                    _batches.Add(_open);
                }
            }

            return new ValueTask<bool>(true);
        }

        public Task CloseAsync(CloseReason reason, CancellationToken cancellationToken)
        {
            ClosedWith = reason;
            return Task.CompletedTask;
        }

        public void Abort()
        {
        }
    }

    private static StreamSupervisor Supervisor(StreamingOptions options, TimeProvider? time = null) =>
        new(Microsoft.Extensions.Options.Options.Create(options), time ?? new FakeTimeProvider(), NullLogger<StreamSupervisor>.Instance);

    /// <summary>A session draining one <see cref="LossyQueue"/>; the pump waits until the queue is disposed.</summary>
    private static (StreamSession Session, LossyQueue Queue, RecordingTransport Transport) Lossy(StreamSupervisor supervisor)
    {
        var transport = new RecordingTransport();
        var session = supervisor.Open(transport);
        var queue = new LossyQueue();
        _ = session.PumpAsync(queue, _ => new byte[] { 1 });
        return (session, queue, transport);
    }

    [Theory]
    [InlineData(Limit - 1, false)]
    [InlineData(Limit, true)]
    [InlineData(Limit + 1, true)]
    public void A_client_that_lost_the_limit_is_too_slow_and_one_event_fewer_is_not(long lost, bool tooSlow)
    {
        var (session, queue, _) = Lossy(Supervisor(new StreamingOptions { MaxDroppedBeforeClose = Limit }));
        using var lossy = queue;

        queue.Dropped = lost;

        Assert.Equal(tooSlow, session.IsTooSlow());
    }

    [Fact]
    public void Losses_over_consecutive_checks_add_up_until_the_limit()
    {
        var (session, queue, _) = Lossy(Supervisor(new StreamingOptions { MaxDroppedBeforeClose = Limit }));
        using var lossy = queue;

        queue.Dropped = Limit / 2;
        Assert.False(session.IsTooSlow());
        queue.Dropped = Limit - 1; // still losing at the next check: counted together
        Assert.False(session.IsTooSlow());
        queue.Dropped = Limit;

        Assert.True(session.IsTooSlow());
    }

    [Fact]
    public async Task A_client_that_kept_up_for_a_check_starts_counting_afresh()
    {
        var (session, queue, _) = Lossy(Supervisor(new StreamingOptions { MaxDroppedBeforeClose = Limit }));
        using var lossy = queue;

        queue.Dropped = Limit - 1;
        Assert.False(session.IsTooSlow());
        queue.Deliver(3);
        await Eventually.UntilAsync(() => session.FramesSent == 3, "the frames to be written");
        Assert.False(session.IsTooSlow()); // it read and lost nothing since the check before: it kept up
        queue.Dropped = (2 * Limit) - 2; // as many again, one fewer than the limit since it kept up

        Assert.False(session.IsTooSlow());
        queue.Dropped = (2 * Limit) - 1; // the limit since it kept up
        Assert.True(session.IsTooSlow());
    }

    [Fact]
    public void A_client_that_reads_nothing_never_keeps_up_however_far_apart_its_losses()
    {
        var (session, queue, _) = Lossy(Supervisor(new StreamingOptions { MaxDroppedBeforeClose = Limit }));
        using var lossy = queue;

        queue.Dropped = Limit - 1;
        Assert.False(session.IsTooSlow());
        Assert.False(session.IsTooSlow()); // a quiet check: nothing lost, but nothing read either
        queue.Dropped = Limit; // the next burst: the limit since it last read
        Assert.True(session.IsTooSlow());
    }

    [Theory]
    [InlineData(3, 3, new[] { 3 })]
    [InlineData(3, 4, new[] { 3, 1 })]
    [InlineData(3, 10, new[] { 3, 3, 3, 1 })]
    [InlineData(1, 3, new[] { 1, 1, 1 })]
    public async Task Queued_frames_go_out_at_most_the_frames_per_write_limit_at_a_time(int maxFramesPerWrite, int queued, int[] writes)
    {
        var supervisor = Supervisor(new StreamingOptions { MaxFramesPerWrite = maxFramesPerWrite });
        var transport = new RecordingTransport();
        using var session = supervisor.Open(transport);
        using var feed = new DropOldestQueue<string>(capacity: 64);
        for (var i = 0; i < queued; i++)
        {
            feed.Offer(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        feed.Complete(); // everything is queued before the pump starts: it drains the queue, then ends

        await session.PumpAsync(feed, _ => new byte[] { 1 }).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(writes, transport.Batches);
        Assert.Equal(queued, session.FramesSent);
    }

    [Fact]
    public async Task Frames_the_encoder_skips_do_not_count_toward_the_limit()
    {
        var supervisor = Supervisor(new StreamingOptions { MaxFramesPerWrite = 2 });
        var transport = new RecordingTransport();
        using var session = supervisor.Open(transport);
        using var feed = new DropOldestQueue<string>(capacity: 64);
        foreach (var i in new[] { "1", "0", "2", "0", "0", "3" })
        {
            feed.Offer(i);
        }

        feed.Complete();

        await session.PumpAsync(feed, i => i == "0" ? ReadOnlyMemory<byte>.Empty : new byte[] { (byte)(i[0] - '0') }).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([2, 1], transport.Batches);
        Assert.Equal(3, session.FramesSent);
    }

    [Fact]
    public async Task The_supervisor_closes_a_session_that_lost_the_limit_as_too_slow_and_keeps_one_that_lost_fewer()
    {
        var time = new FakeTimeProvider();
        var options = new StreamingOptions { MaxDroppedBeforeClose = Limit, SupervisionInterval = TimeSpan.FromSeconds(1), HeartbeatInterval = TimeSpan.FromHours(1) };
        var supervisor = Supervisor(options, time);
        var (slow, slowQueue, slowTransport) = Lossy(supervisor);
        var (keeping, keepingQueue, keepingTransport) = Lossy(supervisor);
        await supervisor.StartAsync(CancellationToken.None);
        try
        {
            slowQueue.Dropped = Limit;
            keepingQueue.Dropped = Limit - 1;

            // Tick by tick until the supervisor has checked: bounded by the test's own deadline, not by sleeping.
            await Eventually.UntilAsync(() =>
            {
                time.Advance(options.SupervisionInterval / 4);
                return supervisor.Sessions == 1;
            }, "the slow session is closed");

            Assert.Equal(CloseKind.TooSlow, slowTransport.ClosedWith?.Kind);
            Assert.Equal(CloseKind.TooSlow, slow.ClosedBecause?.Kind);
            Assert.Null(keepingTransport.ClosedWith);
            Assert.Equal(1, supervisor.Sessions);
            Assert.Null(keeping.ClosedBecause);
        }
        finally
        {
            await supervisor.StopAsync(CancellationToken.None);
            slow.Dispose();
            keeping.Dispose();
            slowQueue.Dispose();
            keepingQueue.Dispose();
        }
    }

    [Fact]
    public async Task The_supervisor_watches_only_sessions_that_lost_something_and_closes_one_whose_losses_far_apart_reach_the_limit()
    {
        var time = new FakeTimeProvider();
        var options = new StreamingOptions { MaxDroppedBeforeClose = Limit, SupervisionInterval = TimeSpan.FromSeconds(1), HeartbeatInterval = TimeSpan.FromHours(1) };
        var supervisor = Supervisor(options, time);
        var (quiet, quietQueue, quietTransport) = Lossy(supervisor);
        var (lossy, lossyQueue, lossyTransport) = Lossy(supervisor);
        await supervisor.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(0, supervisor.Watched); // nothing lost: no session is looked at by the slow-client rule

            lossyQueue.Dropped = Limit - 1;
            Assert.Equal(1, supervisor.Watched); // its queue told it at once
            await Eventually.UntilAsync(() =>
            {
                time.Advance(options.SupervisionInterval / 4);
                return supervisor.Watched == 0;
            }, "a check that finds nothing new lost lets the session go");
            Assert.Null(lossy.ClosedBecause);

            // It reads nothing; the next loss, long after, brings it back under watch and its losses add up to the limit.
            time.Advance(TimeSpan.FromSeconds(30));
            lossyQueue.Dropped = Limit;
            Assert.Equal(1, supervisor.Watched);
            await Eventually.UntilAsync(() =>
            {
                time.Advance(options.SupervisionInterval / 4);
                return supervisor.Sessions == 1;
            }, "the slow session is closed");

            Assert.Equal(CloseKind.TooSlow, lossyTransport.ClosedWith?.Kind);
            Assert.Null(quietTransport.ClosedWith);
            Assert.Equal(0, supervisor.Watched);
        }
        finally
        {
            await supervisor.StopAsync(CancellationToken.None);
            quiet.Dispose();
            lossy.Dispose();
            quietQueue.Dispose();
            lossyQueue.Dispose();
        }
    }

    [Fact]
    public async Task A_session_is_idle_from_its_last_write_and_the_supervisor_sends_an_idle_one_a_heartbeat()
    {
        var time = new FakeTimeProvider();
        var options = new StreamingOptions { HeartbeatInterval = TimeSpan.FromSeconds(4), SupervisionInterval = TimeSpan.FromSeconds(1) };
        var supervisor = Supervisor(options, time);
        var (session, queue, transport) = Lossy(supervisor);
        await session.SendAsync(new byte[] { 1 });
        time.Advance(options.HeartbeatInterval - TimeSpan.FromTicks(1));
        Assert.True(session.Idle < options.HeartbeatInterval);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(options.HeartbeatInterval, session.Idle);

        await supervisor.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.UntilAsync(() =>
            {
                time.Advance(TimeSpan.FromMilliseconds(250));
                return transport.Heartbeats > 0;
            }, "a heartbeat");

            Assert.True(session.Idle < options.HeartbeatInterval, "the heartbeat counts as a write");
            Assert.Null(transport.ClosedWith);
            Assert.Equal(1, supervisor.Sessions);
        }
        finally
        {
            await supervisor.StopAsync(CancellationToken.None);
            session.Dispose();
            queue.Dispose();
        }
    }
}
