using Wattstream.Telemetry;
using static Wattstream.Hub.Tests.Readings;

namespace Wattstream.Hub.Tests;

public class DerStateTests
{
    private static HubEvent Event(long id, long timestamp) => new(7, id, Meter(Der(), timestamp));

    [Fact]
    public void Its_duplicate_window_remembers_in_place()
    {
        // The window is a struct in a mutable field; held readonly it would remember into a copy and find no duplicate.
        var der = new DerState(Der(), DerType.Meter, dedupWindow: 2);

        Assert.True(der.Remember(5));
        Assert.False(der.Remember(5));
    }

    [Fact]
    public void An_older_event_is_not_taken_as_the_last_value_and_the_interval_is_between_in_order_readings()
    {
        var der = new DerState(Der(), DerType.Meter, dedupWindow: 4);
        var first = Event(1, 1_000);
        var second = Event(2, 3_000);
        var late = Event(3, 2_000);

        Assert.True(der.TakeIfNewest(first));
        Assert.Null(der.Interval);
        Assert.True(der.TakeIfNewest(second));
        Assert.False(der.TakeIfNewest(late));

        Assert.Same(second, der.Last);
        Assert.Equal(TimeSpan.FromSeconds(2), der.Interval);
        Assert.True(first.WasNewest);
        Assert.True(second.WasNewest);
        Assert.False(late.WasNewest);
        Assert.True(der.TakeIfNewest(Event(4, 3_000))); // the same time as the newest still replaces it
    }

    [Fact]
    public void Matching_subscriptions_are_taken_from_the_index_again_only_when_its_version_changes()
    {
        var hub = new TelemetryHub();
        var index = new SubscriptionIndex();
        var der = new DerState(Der(), DerType.Meter, dedupWindow: 4);
        using var first = hub.Subscribe(">");
        index.Add(first);

        Assert.Equal([first], der.MatchingSubscriptions(index, version: 1));

        using var second = hub.Subscribe(Der().Subject);
        index.Add(second);
        Assert.Equal([first], der.MatchingSubscriptions(index, version: 1)); // cached
        Assert.Equal(2, der.MatchingSubscriptions(index, version: 2).Length);
    }
}
