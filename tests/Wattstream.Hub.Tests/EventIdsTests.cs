using Wattstream.Telemetry;
using static Wattstream.Hub.Tests.Readings;

namespace Wattstream.Hub.Tests;

/// <summary>Where the hub's event ids start: its own count, an earlier run's (<see cref="TelemetryHub.ContinueAt"/>), or the cluster's log.</summary>
public class EventIdsTests
{
    private sealed class NoLog : IReadingLog
    {
        public void Append(Reading reading)
        {
        }

        public ValueTask<PublishResult> AppendAsync(Reading reading, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new PublishResult(PublishOutcome.Forwarded, null));

        public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(0L);
    }

    [Fact]
    public void A_hub_that_continues_an_earlier_run_counts_on_in_its_epoch_and_holds_nothing_before_it()
    {
        var hub = new TelemetryHub();
        hub.ContinueAt(epoch: 9, firstSequence: 100);

        var accepted = hub.Publish(Meter(Der(), 1));

        Assert.Equal(100, accepted.Sequence);
        Assert.Equal(9, accepted.Event!.Epoch);
        Assert.Equal(9, hub.Epoch);
        Assert.Equal(101, hub.NextSequence);
        using var fromEarlierRun = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 50 });
        Assert.Equal(ResumeResult.TooOld, fromEarlierRun.Resume);
        using var fromTheStop = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 99 });
        Assert.Equal(ResumeResult.Complete, fromTheStop.Resume);
        Assert.Equal([100L], Drain(fromTheStop).Select(e => e.Id));
    }

    [Fact]
    public void Ids_are_continued_only_before_the_first_event_never_with_a_log_and_never_from_below_one()
    {
        var used = new TelemetryHub();
        used.Publish(Meter(Der(), 1));
        var clustered = new TelemetryHub();
        clustered.AttachLog(new NoLog(), epoch: 3, firstSequence: 1);

        Assert.Throws<InvalidOperationException>(() => used.ContinueAt(9, 100));
        Assert.Throws<InvalidOperationException>(() => clustered.ContinueAt(9, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TelemetryHub().ContinueAt(9, 0));
    }

    [Fact]
    public void A_delivered_reading_refused_by_a_limit_still_uses_up_its_sequence()
    {
        var hub = new TelemetryHub(new HubOptions { MaxDers = 1 });
        hub.AttachLog(new NoLog(), epoch: 3, firstSequence: 1);

        Assert.True(hub.Deliver(Meter(Der("m1"), 1), 1).IsAccepted);
        Assert.Equal(PublishOutcome.Rejected, hub.Deliver(Meter(Der("m2"), 1), 2).Outcome);

        Assert.Equal(3, hub.NextSequence); // every node skips sequence 2 alike
        Assert.Equal(PublishOutcome.Duplicate, hub.Deliver(Meter(Der("m1"), 2), 2).Outcome);
        Assert.Equal(1, hub.Counters.Rejected);
    }
}
