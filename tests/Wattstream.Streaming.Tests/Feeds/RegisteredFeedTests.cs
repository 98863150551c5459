using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Hub.Resume;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Tests.Feeds;

/// <summary>The feed engine and its registration: resume (ring, then store, then live), scope, patterns, state.</summary>
public class RegisteredFeedTests
{
    private sealed class Note(long id, string org, string site, DerAddress? der = null) : IFeedItem
    {
        public string Subject => $"orgs.{Org}.sites.{Site}.notes.json.v1";

        public string Org { get; } = org;

        public string Site { get; } = site;

        public DerAddress? Der { get; } = der;

        public long Id { get; } = id;

        public ReadOnlyMemory<byte> Json => System.Text.Encoding.UTF8.GetBytes($"{{\"id\":{Id}}}");

        public FramedEncodings Encodings { get; } = new();
    }

    // Frames an item as its id in text, so a test reads what a client would get.
    private sealed class IdFraming : IFeedFraming
    {
        public int Framed { get; private set; }

        public string Name => "test";

        public byte[] Frame(IFeed feed, IFeedItem item)
        {
            Framed++;
            return System.Text.Encoding.UTF8.GetBytes(item.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public WireEncoder ReadingEncoder(IFeed feed, PayloadFormat format) => throw new NotSupportedException();
    }

    private static readonly TelemetryScope AcmeOnly = TelemetryScope.Granted("acme-reader", new HashSet<string> { "acme" }, null);

    private static List<long> Drain(FeedStream stream)
    {
        var reader = ((FeedStream<Note>)stream).Reader;
        var ids = new List<long>();
        while (reader.TryRead(out var item))
        {
            ids.Add(item.Id);
        }

        return ids;
    }

    private static (RegisteredFeed<Note> Registered, Feed<Note> Engine, List<Note> Store) EventFeed(int ring)
    {
        var engine = Feed.OfEvents<Note>(ring);
        var store = new List<Note>();
        var registered = new RegisteredFeed<Note>(new FeedDefinition<Note>
        {
            Kind = "notes",
            EventName = "note",
            ItemName = "note",
            Feed = engine,
            ReadStore = (query, _) =>
            {
                var rows = store.Where(n => n.Id > query.AfterId && n.Id < query.BeforeId && query.Scope.CanSee(n)).TakeLast(query.Limit).ToArray();
                return Task.FromResult(new StoredItems<Note>(rows, rows.Length < query.Limit));
            },
        });
        return (registered, engine, store);
    }

    private static void Publish(Feed<Note> engine, List<Note> store, Note note)
    {
        store.Add(note); // stored first, as alerts are
        engine.Publish(note);
    }

    [Fact]
    public async Task A_resume_older_than_the_ring_gets_the_store_then_the_ring_then_live_each_once_and_only_its_org()
    {
        var (feed, engine, store) = EventFeed(ring: 8);
        for (var id = 1; id <= 30; id++)
        {
            Publish(engine, store, new Note(id, id % 2 == 0 ? "acme" : "globex", "s1"));
        }

        var opening = await feed.OpenAsync(new FeedRequest(SubjectPattern.All, AcmeOnly, new IdFraming()) { LastEventId = "4" });
        using var stream = opening.Stream!;
        Publish(engine, store, new Note(31, "globex", "s1"));
        Publish(engine, store, new Note(32, "acme", "s1"));

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Equal(Enumerable.Range(3, 14).Select(i => (long)i * 2), Drain(stream)); // 6, 8, … 32
        Assert.True(stream.FromStore > 0);
    }

    [Fact]
    public async Task A_resume_within_the_ring_needs_no_store_and_a_feed_without_a_store_says_gap()
    {
        var (feed, engine, store) = EventFeed(ring: 8);
        for (var id = 1; id <= 10; id++)
        {
            Publish(engine, store, new Note(id, "acme", "s1"));
        }

        using (var recent = (await feed.OpenAsync(new FeedRequest(SubjectPattern.All, TelemetryScope.Everything, new IdFraming()) { LastEventId = "7" })).Stream!)
        {
            Assert.Equal(ResumeOutcome.Complete, recent.Outcome);
            Assert.Equal(0, recent.FromStore);
            Assert.Equal([8L, 9, 10], Drain(recent));
        }

        var ringOnly = new RegisteredFeed<Note>(new FeedDefinition<Note> { Kind = "notes", EventName = "note", Feed = engine });
        using var old = (await ringOnly.OpenAsync(new FeedRequest(SubjectPattern.All, TelemetryScope.Everything, new IdFraming()) { LastEventId = "1" })).Stream!;
        Assert.Equal(ResumeOutcome.Gap, old.Outcome);
        Assert.Equal([3L, 4, 5, 6, 7, 8, 9, 10], Drain(old));
    }

    [Fact]
    public async Task A_malformed_id_is_refused_with_what_ids_look_like()
    {
        var (feed, _, _) = EventFeed(ring: 8);

        var opening = await feed.OpenAsync(new FeedRequest(SubjectPattern.All, TelemetryScope.Everything, new IdFraming()) { LastEventId = "1-2" });

        Assert.Null(opening.Stream);
        Assert.Equal("bad_last_event_id", opening.ErrorCode);
        Assert.Equal("'1-2' is not an note id; note ids are whole numbers.", opening.Error);
    }

    [Fact]
    public async Task A_pattern_selects_a_sites_items_and_a_ders_items_by_its_telemetry_subject_never_another_ders()
    {
        var (feed, engine, store) = EventFeed(ring: 8);
        var meter = new DerAddress("acme", "s1", "gw", "m1");
        using var site = (await feed.OpenAsync(new FeedRequest(SubjectPattern.Parse("orgs.acme.sites.s1.>"), TelemetryScope.Everything, new IdFraming()))).Stream!;
        using var der = (await feed.OpenAsync(new FeedRequest(SubjectPattern.Parse(meter.Subject), TelemetryScope.Everything, new IdFraming()))).Stream!;

        Publish(engine, store, new Note(1, "acme", "s1"));
        Publish(engine, store, new Note(2, "acme", "s1", meter));
        Publish(engine, store, new Note(3, "acme", "s2"));

        Assert.Equal([1L, 2], Drain(site));
        Assert.Equal([1L, 2], Drain(der)); // a site's own item concerns every DER in it; another site's never
        Publish(engine, store, new Note(4, "acme", "s1", new DerAddress("acme", "s1", "gw", "m2")));
        Assert.Equal([4L], Drain(site));
        Assert.Empty(Drain(der));
    }

    [Fact]
    public async Task A_feed_of_state_gives_the_present_then_changes_and_frames_each_item_once_for_every_client()
    {
        var engine = Feed.OfState<Note>(n => n.Site);
        var feed = new RegisteredFeed<Note>(new FeedDefinition<Note> { Kind = "present", EventName = "note", Feed = engine });
        engine.Publish(new Note(1, "acme", "s1"));
        engine.Publish(new Note(2, "acme", "s2"));
        engine.Publish(new Note(3, "acme", "s1")); // s1's present is now 3

        var framing = new IdFraming();
        using var a = (await feed.OpenAsync(new FeedRequest(SubjectPattern.All, TelemetryScope.Everything, framing) { LastEventId = "not-an-id" })).Stream!;
        using var b = (await feed.OpenAsync(new FeedRequest(SubjectPattern.All, TelemetryScope.Everything, framing))).Stream!;
        engine.Publish(new Note(4, "acme", "s2"));

        Assert.Equal(ResumeOutcome.None, a.Outcome); // state has no ids to resume after: the present is the resume
        Assert.Equal([3L, 2, 4], Drain(a));
        var note = new Note(5, "acme", "s3");
        Assert.Equal(feed.Frame(framing, note).ToArray(), feed.Frame(framing, note).ToArray());
        Assert.Equal(1, framing.Framed);
        Assert.Equal([3L, 2, 4], Drain(b));
    }
}
