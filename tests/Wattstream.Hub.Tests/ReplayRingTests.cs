using static Wattstream.Hub.Tests.Readings;

namespace Wattstream.Hub.Tests;

public class ReplayRingTests
{
    private static readonly SubjectPattern All = SubjectPattern.All;

    private static HubEvent Event(long id, string der = "m1") => new(7, id, Meter(Der(der), id));

    private static ReplayRing RingWith(int capacity, IEnumerable<long> ids, string der = "m1")
    {
        var ring = new ReplayRing(capacity);
        foreach (var id in ids)
        {
            ring.Add(Event(id, der));
        }

        return ring;
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(1000, 1024)]
    public void Capacity_is_a_power_of_two_of_at_least_sixteen(int asked, int kept)
    {
        Assert.Equal(kept, new ReplayRing(asked).Capacity);
    }

    [Fact]
    public void A_full_ring_overwrites_its_oldest_and_replays_only_what_it_still_holds()
    {
        var ring = RingWith(16, Enumerable.Range(1, 40).Select(i => (long)i));

        Assert.Equal(25, ring.OldestId(firstId: 1, lastId: 40));

        var (fromStart, tooOld) = ring.Replay(All, after: 0, firstId: 1, lastId: 40, filter: null);
        Assert.Equal(ResumeResult.TooOld, tooOld);
        Assert.Equal(Enumerable.Range(25, 16).Select(i => (long)i), fromStart.Select(e => e.Id));

        var (fromOldest, complete) = ring.Replay(All, after: 24, firstId: 1, lastId: 40, filter: null);
        Assert.Equal(ResumeResult.Complete, complete);
        Assert.Equal(Enumerable.Range(25, 16).Select(i => (long)i), fromOldest.Select(e => e.Id));

        // 24 itself was overwritten, so resuming after 23 would miss it: too old.
        Assert.Equal(ResumeResult.TooOld, ring.Replay(All, after: 23, firstId: 1, lastId: 40, filter: null).Resume);
    }

    [Fact]
    public void An_id_from_the_future_is_too_old_and_replays_everything_held()
    {
        var ring = RingWith(16, [1, 2, 3]);

        var (replay, resume) = ring.Replay(All, after: 9, firstId: 1, lastId: 3, filter: null);

        Assert.Equal(ResumeResult.TooOld, resume);
        Assert.Equal([1L, 2L, 3L], replay.Select(e => e.Id));
    }

    [Fact]
    public void Nothing_before_the_first_id_of_the_run_is_held()
    {
        var ring = RingWith(64, [500, 501, 502]);

        Assert.Equal(500, ring.OldestId(firstId: 500, lastId: 502));
        Assert.Equal(ResumeResult.TooOld, ring.Replay(All, after: 480, firstId: 500, lastId: 502, filter: null).Resume);
        var (replay, resume) = ring.Replay(All, after: 499, firstId: 500, lastId: 502, filter: null);
        Assert.Equal(ResumeResult.Complete, resume);
        Assert.Equal([500L, 501L, 502L], replay.Select(e => e.Id));
    }

    [Fact]
    public void Skipped_ids_replay_nothing_and_a_slot_left_from_an_earlier_lap_is_not_taken_for_a_newer_id()
    {
        // Ids 3–4 and 18 were never given (cluster sequences that were no reading); slot 2 still holds id 2 when 18 is asked for.
        var ring = RingWith(16, [1, 2, 5, 6, 17]);

        var (replay, resume) = ring.Replay(All, after: 1, firstId: 1, lastId: 18, filter: null);

        Assert.Equal(ResumeResult.TooOld, resume); // a 16-slot ring ending at 18 vouches for 3 on only
        Assert.Equal([5L, 6L, 17L], replay.Select(e => e.Id)); // not id 2 for 18, nor anything for 3, 4 or 7–16
        Assert.Equal([5L, 6L], ring.Replay(All, after: 2, firstId: 1, lastId: 6, filter: null).Replay.Select(e => e.Id));
    }

    [Fact]
    public void Replay_takes_only_events_that_match_the_pattern_and_pass_the_filter()
    {
        var ring = new ReplayRing(16);
        for (var id = 1; id <= 6; id++)
        {
            ring.Add(Event(id, id % 2 == 0 ? "even" : "odd"));
        }

        var pattern = SubjectPattern.Parse(Der("even").Subject);
        var (replay, _) = ring.Replay(pattern, after: 0, firstId: 1, lastId: 6, filter: e => e.Id != 4);

        Assert.Equal([2L, 6L], replay.Select(e => e.Id));
    }
}
