using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Tests;

/// <summary>
/// Resume at the replay ring's lower edge, without history: a client whose missed events the ring still holds, all of
/// them, gets them all and no gap; one that also missed the event just below the ring gets a gap.
/// </summary>
public sealed class RingEdgeTests
{
    private const int Ring = 16;
    private static readonly DerAddress Der = new("o1", "s1", "d1", "m1");
    private readonly TelemetryHub _hub = new(new HubOptions { ReplayCapacity = Ring });
    private readonly List<HubEvent> _published = [];

    public RingEdgeTests()
    {
        for (var i = 0; i < 3 * Ring; i++)
        {
            var reading = new Reading(Der, DerType.Meter, 1_795_000_000_000 + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]);
            _published.Add(_hub.Publish(reading).Event!);
        }
    }

    /// <summary>The oldest id the ring still holds: the ring keeps the newest <see cref="Ring"/> events.</summary>
    private long Oldest => _published[^Ring].Id;

    private Task<ReadingStream> ResumeAsync(long after) =>
        new ReadingStreams(_hub, NoEventHistory.Instance, Options.Create(new StreamingOptions())).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, TelemetryScope.Everything) { ResumeAfter = new HubEventId(_hub.Epoch, after) });

    private static List<long> Drain(ReadingStream stream)
    {
        var ids = new List<long>();
        while (stream.Subscription.TryRead(out var e))
        {
            ids.Add(e.Id);
        }

        return ids;
    }

    [Fact]
    public async Task A_client_whose_last_event_is_just_below_the_ring_gets_every_held_event_and_no_gap()
    {
        var stream = await ResumeAsync(Oldest - 1);
        using var subscription = stream.Subscription;

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Null(stream.Gap);
        Assert.Equal(_published.TakeLast(Ring).Select(e => e.Id), Drain(stream));
    }

    [Fact]
    public async Task A_client_whose_last_event_is_the_oldest_held_gets_the_rest_and_no_gap()
    {
        var stream = await ResumeAsync(Oldest);
        using var subscription = stream.Subscription;

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Null(stream.Gap);
        Assert.Equal(_published.TakeLast(Ring - 1).Select(e => e.Id), Drain(stream));
    }

    [Fact]
    public async Task A_client_that_missed_the_event_just_below_the_ring_gets_a_gap_then_every_held_event()
    {
        var stream = await ResumeAsync(Oldest - 2);
        using var subscription = stream.Subscription;

        Assert.Equal(ResumeOutcome.Gap, stream.Outcome);
        Assert.Equal(new HubEventId(_hub.Epoch, Oldest - 2), stream.Gap!.LastEventId);
        Assert.Equal(new HubEventId(_hub.Epoch, Oldest), stream.Gap.OldestAvailable);
        Assert.Equal(_published.TakeLast(Ring).Select(e => e.Id), Drain(stream));
    }
}
