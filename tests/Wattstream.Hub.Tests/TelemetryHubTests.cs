using Wattstream.Telemetry;

namespace Wattstream.Hub.Tests;

public class TelemetryHubTests
{
    [Fact]
    public void Accepted_readings_get_increasing_ids_and_reach_matching_subscribers_only()
    {
        var hub = new TelemetryHub();
        using var site1 = hub.Subscribe("orgs.o1.sites.s1.>");
        using var site2 = hub.Subscribe("orgs.o1.sites.s2.>");
        using var all = hub.Subscribe(">");

        var a = hub.Publish(Readings.Meter(Readings.Der("m1", "s1"), 1000));
        var b = hub.Publish(Readings.Meter(Readings.Der("m2", "s2"), 1000));
        var c = hub.Publish(Readings.Meter(Readings.Der("m1", "s1"), 2000));

        Assert.Equal([1L, 2L, 3L], new[] { a, b, c }.Select(r => r.Event!.Id));
        Assert.Equal([1L, 3L], Readings.Drain(site1).Select(e => e.Id));
        Assert.Equal([2L], Readings.Drain(site2).Select(e => e.Id));
        Assert.Equal([1L, 2L, 3L], Readings.Drain(all).Select(e => e.Id));
    }

    [Fact]
    public void Completing_all_ends_the_streams_but_not_a_subscription_its_subscriber_ends()
    {
        var hub = new TelemetryHub();
        using var stream = hub.Subscribe(">");
        var history = hub.Subscribe(SubjectPattern.All, new SubscribeOptions { EndedBySubscriber = true });
        hub.Publish(Readings.Meter(Readings.Der("m1", "s1"), 1000));

        hub.CompleteAll(); // the host begins to stop: the streams end, the sources still publish
        hub.Publish(Readings.Meter(Readings.Der("m1", "s1"), 2000));

        Assert.Equal([1L], Readings.Drain(stream).Select(e => e.Id));
        Assert.True(stream.IsCompleted);
        Assert.Equal([1L, 2L], Readings.Drain(history).Select(e => e.Id));
        Assert.False(history.IsCompleted);
        history.Dispose();
        Assert.True(history.IsCompleted);
    }

    [Fact]
    public void A_reading_with_the_same_der_and_timestamp_is_dropped_and_counted()
    {
        var hub = new TelemetryHub();
        using var sub = hub.Subscribe(">");
        var der = Readings.Der();

        Assert.Equal(PublishOutcome.Accepted, hub.Publish(Readings.Meter(der, 1000, 1)).Outcome);
        Assert.Equal(PublishOutcome.Duplicate, hub.Publish(Readings.Meter(der, 1000, 2)).Outcome);
        Assert.Equal(PublishOutcome.Accepted, hub.Publish(Readings.Meter(Readings.Der("other"), 1000)).Outcome); // other DER, same time

        Assert.Equal(1, hub.Counters.Duplicates);
        Assert.Equal(2, Readings.Drain(sub).Count);
        Assert.Equal(1, hub.GetLast(der)!.Reading.Get(Quantity.ActivePower, Unit.Watt));
    }

    [Fact]
    public void Duplicates_are_recognised_within_the_window_and_forgotten_after_it()
    {
        var hub = new TelemetryHub(new HubOptions { DedupWindow = 3 });
        var der = Readings.Der();
        foreach (var t in new long[] { 1, 2, 3, 4 })
        {
            hub.Publish(Readings.Meter(der, t));
        }

        Assert.Equal(PublishOutcome.Duplicate, hub.Publish(Readings.Meter(der, 2)).Outcome);
        Assert.Equal(PublishOutcome.AcceptedOutOfOrder, hub.Publish(Readings.Meter(der, 1)).Outcome); // fell out of the window of 3
    }

    [Fact]
    public void An_out_of_order_reading_is_kept_and_delivered_but_never_replaces_a_newer_last_value()
    {
        var hub = new TelemetryHub();
        using var sub = hub.Subscribe(">");
        var der = Readings.Der();

        hub.Publish(Readings.Meter(der, 2000, watts: 2));
        var late = hub.Publish(Readings.Meter(der, 1000, watts: 1));

        Assert.Equal(PublishOutcome.AcceptedOutOfOrder, late.Outcome);
        Assert.True(late.IsAccepted);
        Assert.Equal(2000, hub.GetLast(der)!.Reading.Timestamp);
        Assert.Equal([2000L, 1000L], Readings.Drain(sub).Select(e => e.Reading.Timestamp));
        Assert.Equal(1, hub.Counters.OutOfOrder);

        hub.Publish(Readings.Meter(der, 3000, watts: 3));
        Assert.Equal(3000, hub.GetLast(der)!.Reading.Timestamp);
    }

    [Fact]
    public void A_stalled_subscriber_loses_its_oldest_readings_while_others_get_every_one()
    {
        var hub = new TelemetryHub(new HubOptions { SubscriberQueueCapacity = 8 });
        using var stalled = hub.Subscribe(">");
        using var healthy = hub.Subscribe(">", new SubscribeOptions { QueueCapacity = 1000 });
        var der = Readings.Der();

        for (var t = 1; t <= 100; t++)
        {
            hub.Publish(Readings.Meter(der, t));
        }

        Assert.Equal(92, stalled.Dropped);
        Assert.Equal(Enumerable.Range(93, 8).Select(i => (long)i), Readings.Drain(stalled).Select(e => e.Id)); // the newest 8
        Assert.Equal(100, Readings.Drain(healthy).Count);
        Assert.Equal(0, healthy.Dropped);
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_does_not_slow_a_reader_that_keeps_up()
    {
        var hub = new TelemetryHub(new HubOptions { SubscriberQueueCapacity = 16 });
        using var stalled = hub.Subscribe(">");
        using var reader = hub.Subscribe(">", new SubscribeOptions { QueueCapacity = 100_000 });
        const int count = 50_000;

        var received = Task.Run(async () =>
        {
            var n = 0L;
            long last = 0;
            await foreach (var e in reader.ReadAllAsync())
            {
                Assert.Equal(last + 1, e.Id); // in order, nothing lost
                last = e.Id;
                if (++n == count)
                {
                    break;
                }
            }

            return n;
        });

        var der = Readings.Der();
        for (var t = 1; t <= count; t++)
        {
            hub.Publish(Readings.Meter(der, t));
        }

        Assert.Equal(count, await received.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(count - 16, stalled.Dropped);
    }

    [Fact]
    public void Resume_after_an_id_replays_exactly_the_missed_events_then_live_ones()
    {
        var hub = new TelemetryHub();
        var der = Readings.Der();
        var other = Readings.Der("m2", "s2");
        for (var t = 1; t <= 10; t++)
        {
            hub.Publish(Readings.Meter(der, t));
            hub.Publish(Readings.Meter(other, t));
        }

        // Ids of der are 1,3,5,…,19; resume after 9 means 11..19 of der.
        using var sub = hub.Subscribe(der.Subject, new SubscribeOptions { ResumeAfter = 9 });
        hub.Publish(Readings.Meter(der, 11));

        Assert.Equal(ResumeResult.Complete, sub.Resume);
        Assert.Equal([11L, 13, 15, 17, 19, 21], Readings.Drain(sub).Select(e => e.Id));
    }

    [Fact]
    public void Resume_after_the_newest_id_replays_nothing()
    {
        var hub = new TelemetryHub();
        var last = hub.Publish(Readings.Meter(Readings.Der(), 1)).Event!.Id;

        using var sub = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = last });

        Assert.Equal(ResumeResult.Complete, sub.Resume);
        Assert.Empty(Readings.Drain(sub));
    }

    [Fact]
    public void Resume_from_an_id_older_than_the_ring_says_so_and_replays_what_is_left()
    {
        var hub = new TelemetryHub(new HubOptions { ReplayCapacity = 16 });
        var der = Readings.Der();
        for (var t = 1; t <= 40; t++)
        {
            hub.Publish(Readings.Meter(der, t));
        }

        using var sub = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 5 });

        Assert.Equal(ResumeResult.TooOld, sub.Resume);
        Assert.Equal(25, sub.OldestReplayedId);
        Assert.Equal(Enumerable.Range(25, 16).Select(i => (long)i), Readings.Drain(sub).Select(e => e.Id));
    }

    [Fact]
    public void Resume_from_an_id_the_hub_never_issued_is_too_old()
    {
        var hub = new TelemetryHub();
        hub.Publish(Readings.Meter(Readings.Der(), 1));

        using var sub = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 1000 });

        Assert.Equal(ResumeResult.TooOld, sub.Resume);
        Assert.Single(Readings.Drain(sub));
    }

    [Fact]
    public void Last_values_are_kept_per_der_and_found_by_pattern()
    {
        var hub = new TelemetryHub();
        hub.Publish(Readings.Meter(Readings.Der("m1", "s1"), 1));
        hub.Publish(Readings.Meter(Readings.Der("m1", "s1"), 2));
        hub.Publish(Readings.Meter(Readings.Der("m2", "s2"), 1));

        var site1 = hub.GetLast(SubjectPattern.Parse("orgs.o1.sites.s1.>"));

        Assert.Equal(2, Assert.Single(site1).Reading.Timestamp);
        Assert.Equal(2, hub.Ders.Count);
        Assert.Equal("m1", hub.Ders[0].Address.Der);
    }

    [Fact]
    public async Task Disposing_a_subscription_ends_its_reader_and_stops_delivery()
    {
        var hub = new TelemetryHub();
        var sub = hub.Subscribe(">");
        var wait = sub.WaitToReadAsync().AsTask();

        sub.Dispose();

        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
        hub.Publish(Readings.Meter(Readings.Der(), 1));
        Assert.Equal(0, hub.Counters.Subscribers);
        Assert.False(sub.TryRead(out _));
    }

    [Fact]
    public void Subscription_filters_apply_to_live_and_replayed_events()
    {
        var hub = new TelemetryHub();
        hub.Publish(Readings.Meter(Readings.Der("m1"), 1));
        hub.Publish(new Reading(Readings.Der("pv1"), DerType.Pv, 1, null, []));
        using var meters = hub.Subscribe(">", new SubscribeOptions { ResumeAfter = 0, Filter = e => e.Reading.Type == DerType.Meter });
        hub.Publish(new Reading(Readings.Der("pv1"), DerType.Pv, 2, null, []));
        hub.Publish(Readings.Meter(Readings.Der("m1"), 2));

        Assert.Equal([1L, 4L], Readings.Drain(meters).Select(e => e.Id));
    }

    [Fact]
    public void Each_format_is_encoded_once_per_event_and_shared()
    {
        var hub = new TelemetryHub();
        using var a = hub.Subscribe(">");
        using var b = hub.Subscribe(">");
        var encoder = new CountingEncoder();
        hub.Publish(Readings.Meter(Readings.Der(), 1));

        var ea = Readings.Drain(a).Single();
        var eb = Readings.Drain(b).Single();
        var bytesA = ea.GetEncoded(encoder);
        var bytesB = eb.GetEncoded(encoder);
        var other = ea.GetEncoded(new CountingEncoder());

        Assert.Same(ea, eb);
        Assert.Equal(1, encoder.Calls);
        Assert.True(bytesA.Span == bytesB.Span); // the same array, not a copy
        Assert.False(bytesA.Span == other.Span);
    }

    [Fact]
    public async Task Concurrent_encoders_of_one_format_end_up_sharing_one_array()
    {
        var hub = new TelemetryHub();
        var e = hub.Publish(Readings.Meter(Readings.Der(), 1)).Event!;
        var encoder = new CountingEncoder();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => e.GetEncoded(encoder))));

        Assert.All(results, r => Assert.True(r.Span == results[0].Span));
    }

    private sealed class CountingEncoder : WireEncoder
    {
        private int _calls;

        public int Calls => _calls;

        public override string Name => "counting";

        public override bool CanEncode(HubEvent hubEvent) => true;

        protected internal override byte[] Encode(HubEvent hubEvent)
        {
            Interlocked.Increment(ref _calls);
            return System.Text.Encoding.UTF8.GetBytes($"#{hubEvent.Id}");
        }
    }
}
