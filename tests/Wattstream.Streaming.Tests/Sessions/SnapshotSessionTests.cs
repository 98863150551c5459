using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Streaming.Tests;

/// <summary>
/// The slow-client rule and a snapshot: while one is being written the session is judged by progress, and once it is
/// written by what it loses from then on.
/// </summary>
public sealed class SnapshotSessionTests
{
    private static readonly StreamingOptions Options = new() { MaxDroppedBeforeClose = 10, HeartbeatInterval = TimeSpan.FromSeconds(15) };

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>A transport whose flushes stop completing once <see cref="BlockAfter"/> frames were written.</summary>
    private sealed class StallingTransport : IFrameTransport
    {
        private readonly TaskCompletionSource<bool> _never = new();
        private long _written;

        public long BlockAfter { get; init; } = long.MaxValue;

        public long Written => Interlocked.Read(ref _written);

        public string Name => "test";

        public CancellationToken Closed => CancellationToken.None;

        public ReadOnlyMemory<byte> Heartbeat => ReadOnlyMemory<byte>.Empty;

        public void BeginBatch()
        {
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> frame)
        {
            Interlocked.Increment(ref _written);
            return default;
        }

        public ValueTask<bool> FlushAsync() => Written > BlockAfter ? new ValueTask<bool>(_never.Task) : new ValueTask<bool>(true);

        public Task CloseAsync(CloseReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

        public void Abort()
        {
        }
    }

    private static (StreamSession Session, ManualClock Clock) Open(IFrameTransport transport)
    {
        var clock = new ManualClock();
        var supervisor = new StreamSupervisor(Microsoft.Extensions.Options.Options.Create(Options), clock, NullLogger<StreamSupervisor>.Instance);
        return (supervisor.Open(transport), clock);
    }

    private static DropOldestQueue<string> Feed(int snapshot)
    {
        var queue = new DropOldestQueue<string>(capacity: 4);
        queue.SetFirst([.. Enumerable.Range(0, snapshot).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        return queue;
    }

    [Fact]
    public void Losses_behind_a_snapshot_in_progress_do_not_count_but_a_snapshot_that_makes_no_progress_does()
    {
        var transport = new StallingTransport { BlockAfter = 0 }; // the client reads nothing: the first flush never completes
        var (session, clock) = Open(transport);
        using var feed = Feed(1_000);
        var pump = session.PumpAsync(feed, _ => new byte[] { 1 });
        for (var i = 0; i < 100; i++)
        {
            feed.Offer((-i).ToString(System.Globalization.CultureInfo.InvariantCulture)); // live items behind the snapshot: the bounded queue loses most of them
        }

        Assert.True(feed.Dropped >= Options.MaxDroppedBeforeClose);
        Assert.True(session.SnapshotRemaining > 0);
        Assert.False(session.IsTooSlow());

        clock.Advance(Options.HeartbeatInterval);

        Assert.True(session.IsTooSlow());
        Assert.False(pump.IsCompleted);
    }

    [Fact]
    public async Task Once_the_snapshot_is_written_what_is_lost_after_it_counts_and_what_was_lost_during_it_does_not()
    {
        var transport = new StallingTransport { BlockAfter = 1_004 }; // the snapshot and the live items kept, then no more
        var (session, _) = Open(transport);
        using var feed = Feed(1_000);
        for (var i = 0; i < 100; i++)
        {
            feed.Offer((-i).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var lostDuringSnapshot = feed.Dropped;
        Assert.False(session.IsTooSlow()); // a check while the snapshot waits
        var pump = session.PumpAsync(feed, _ => new byte[] { 1 });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (transport.Written < 1_004 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1_004, transport.Written);
        Assert.Equal(0, session.SnapshotRemaining);
        Assert.False(session.IsTooSlow()); // the first check after it: nothing lost since

        for (var i = 0; i < 100; i++)
        {
            feed.Offer(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.True(feed.Dropped - lostDuringSnapshot >= Options.MaxDroppedBeforeClose);
        Assert.True(session.IsTooSlow());
        Assert.False(pump.IsCompleted);
    }
}
