using Wattstream.Telemetry;
using static Wattstream.Hub.Tests.Readings;

namespace Wattstream.Hub.Tests;

/// <summary>The hub with a log attached (cluster mode): local readings go to the log, events come back with its sequences.</summary>
public class ClusterModeTests
{
    private sealed class RecordingLog : IReadingLog
    {
        public List<Reading> Appended { get; } = [];

        public void Append(Reading reading) => Appended.Add(reading);

        public ValueTask<PublishResult> AppendAsync(Reading reading, CancellationToken cancellationToken = default)
        {
            Appended.Add(reading);
            return ValueTask.FromResult(new PublishResult(PublishOutcome.Accepted, null, null, 1000 + Appended.Count));
        }

        public long Last { get; set; }

        public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Last);
    }

    [Fact]
    public async Task Catching_up_with_the_log_waits_until_every_reading_it_holds_was_delivered()
    {
        var hub = new TelemetryHub(new HubOptions());
        var log = new RecordingLog { Last = 11 };
        hub.AttachLog(log, epoch: 1, firstSequence: 10);
        var der = Der();

        Assert.False(await hub.CatchUpWithLogAsync(TimeSpan.FromMilliseconds(50))); // 10 and 11 not delivered yet
        hub.Deliver(Meter(der, 1), 10);
        var catchingUp = hub.CatchUpWithLogAsync(TimeSpan.FromSeconds(30));
        Assert.False(catchingUp.IsCompleted);
        hub.Deliver(Meter(der, 2), 11);
        Assert.True(await catchingUp);
        Assert.True(await new TelemetryHub(new HubOptions()).CatchUpWithLogAsync(TimeSpan.Zero)); // no log: nothing to wait for
    }

    [Fact]
    public async Task Local_readings_go_to_the_log_and_not_to_subscribers_until_the_log_delivers_them()
    {
        var hub = new TelemetryHub(new HubOptions());
        var log = new RecordingLog();
        hub.AttachLog(log, epoch: 42, firstSequence: 100);
        using var sub = hub.Subscribe(">");
        var der = Der();

        var result = hub.Publish(Meter(der, 1));
        var waited = await hub.PublishAsync(Meter(der, 2));

        Assert.Equal(PublishOutcome.Forwarded, result.Outcome);
        Assert.Equal(1002, waited.Sequence);
        Assert.Equal(2, log.Appended.Count);
        Assert.Empty(Drain(sub));
        Assert.Equal(42, hub.Epoch);

        hub.Deliver(log.Appended[0], 100);
        hub.Deliver(log.Appended[1], 101);
        var events = Drain(sub);
        Assert.Equal([100L, 101L], events.Select(e => e.Id));
        Assert.All(events, e => Assert.Equal(42, e.Epoch));
    }

    [Fact]
    public void A_sequence_delivered_again_or_behind_is_a_duplicate_and_a_skipped_one_is_no_event()
    {
        var hub = new TelemetryHub(new HubOptions());
        hub.AttachLog(new RecordingLog(), epoch: 7, firstSequence: 1);
        var der = Der();

        Assert.True(hub.Deliver(Meter(der, 1), 1).IsAccepted);
        Assert.Equal(PublishOutcome.Duplicate, hub.Deliver(Meter(der, 2), 1).Outcome); // a consumer that delivers again
        Assert.True(hub.Deliver(Meter(der, 3), 5).IsAccepted); // 2–4 were no readings
        Assert.True(hub.Deliver(Meter(der, 4), 6).IsAccepted);

        using var resumed = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 1 });
        Assert.Equal(ResumeResult.Complete, resumed.Resume);
        Assert.Equal([5L, 6L], Drain(resumed).Select(e => e.Id)); // the gap in sequences is no gap in events
        Assert.Equal(6, hub.Counters.LastEventId);
    }

    [Fact]
    public void A_node_that_started_late_holds_nothing_before_its_first_sequence_and_says_so()
    {
        var hub = new TelemetryHub(new HubOptions { ReplayCapacity = 64 });
        hub.AttachLog(new RecordingLog(), epoch: 7, firstSequence: 500);
        var der = Der();
        for (var i = 0; i < 5; i++)
        {
            hub.Deliver(Meter(der, i), 500 + i);
        }

        using var resumed = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 480 }); // the stream has 481–499, this node does not

        Assert.Equal(ResumeResult.TooOld, resumed.Resume);
        Assert.Equal(500, resumed.OldestReplayedId);
        Assert.Equal(5, Drain(resumed).Count);
    }

    [Fact]
    public void A_log_is_attached_only_to_a_hub_that_has_accepted_nothing()
    {
        var hub = new TelemetryHub(new HubOptions());
        hub.Publish(Meter(Der(), 1));

        Assert.Throws<InvalidOperationException>(() => hub.AttachLog(new RecordingLog(), 1, 1));
    }
}
