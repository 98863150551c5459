using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;
using Wattstream.Storage;
using Wattstream.Storage.Sqlite;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Tests;

/// <summary>Resume as every transport gets it: a real hub with a small ring and a real SQLite store behind it.</summary>
public sealed class ReadingStreamsTests : IAsyncLifetime
{
    private const long T0 = 1_795_000_000_000;
    private static readonly DerAddress A = new("o1", "s1", "d1", "a");
    private static readonly DerAddress B = new("o1", "s1", "d1", "b");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-streaming-{Guid.NewGuid():N}");
    private readonly TelemetryHub _hub = new(new HubOptions { ReplayCapacity = 16 });
    private readonly StatusBoard _board = new(TimeSpan.FromMinutes(1));
    private SqliteReadingStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _store = new SqliteReadingStore(Path.Combine(_directory, "history.db"));
        await _store.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static Reading Meter(DerAddress der, int i) => new(der, DerType.Meter, T0 + (i * 1000L), null, [new Measurement(Quantity.ActivePower, i, Unit.Watt)]);

    /// <summary>Publishes <paramref name="count"/> readings alternating between A and B, and keeps them as the history writer would.</summary>
    private async Task<List<HubEvent>> PublishAndStoreAsync(int count, int from = 0)
    {
        var events = new List<HubEvent>();
        for (var i = from; i < from + count; i++)
        {
            events.Add(_hub.Publish(Meter(i % 2 == 0 ? A : B, i)).Event!);
        }

        await _store.WriteAsync(events.Select(e => new StoredReading(new EventPosition(e.Epoch, e.Id), e.Reading)).ToArray());
        return events;
    }

    private ReadingStreams Streams(IEventHistory history) => new(_hub, history, Options.Create(new StreamingOptions()));

    private static List<HubEvent> Drain(ReadingStream stream)
    {
        var events = new List<HubEvent>();
        while (stream.Subscription.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task A_resume_the_ring_still_covers_is_complete_without_history()
    {
        var events = await PublishAndStoreAsync(10);

        var stream = await Streams(new StoredEventHistory(_store, _hub, _board)).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, TelemetryScope.Everything) { ResumeAfter = new HubEventId(_hub.Epoch, events[3].Id) });

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Equal(0, stream.FromHistory);
        Assert.Equal(events.Skip(4).Select(e => e.Id), Drain(stream).Select(e => e.Id));
    }

    [Fact]
    public async Task A_resume_older_than_the_ring_gets_the_stored_events_then_the_ring_in_order_without_duplicates()
    {
        var events = await PublishAndStoreAsync(100); // the ring holds the last 16

        var stream = await Streams(new StoredEventHistory(_store, _hub, _board)).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, TelemetryScope.Everything) { ResumeAfter = new HubEventId(_hub.Epoch, events[9].Id) });
        var tail = await PublishAndStoreAsync(3, from: 100); // live ones follow

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Equal(100 - 10 - 16, stream.FromHistory);
        Assert.Equal(events.Skip(10).Concat(tail).Select(e => e.Id), Drain(stream).Select(e => e.Id));
    }

    [Fact]
    public async Task The_scope_and_filter_apply_to_stored_events_too()
    {
        var events = await PublishAndStoreAsync(60);
        var onlyA = TelemetryScope.Restricted("test", der => der.Equals(A));

        var stream = await Streams(new StoredEventHistory(_store, _hub, _board)).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, onlyA, e => e.Reading.Timestamp % 4000 == 0) { ResumeAfter = new HubEventId(_hub.Epoch, events[0].Id) });

        var expected = events.Skip(1).Where(e => e.Reading.Der.Equals(A) && e.Reading.Timestamp % 4000 == 0).Select(e => e.Id);
        Assert.Equal(expected, Drain(stream).Select(e => e.Id));
    }

    [Fact]
    public async Task Without_history_an_old_resume_is_a_gap_that_says_where_the_stream_continues()
    {
        var events = await PublishAndStoreAsync(100);

        var stream = await Streams(NoEventHistory.Instance).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, TelemetryScope.Everything) { ResumeAfter = new HubEventId(_hub.Epoch, events[9].Id) });

        Assert.Equal(ResumeOutcome.Gap, stream.Outcome);
        var replayed = Drain(stream);
        Assert.Equal(events.TakeLast(16).Select(e => e.Id), replayed.Select(e => e.Id));
        Assert.Equal(new HubEventId(_hub.Epoch, replayed[0].Id), stream.Gap!.OldestAvailable);
        Assert.Equal(new HubEventId(_hub.Epoch, replayed[0].Id - 1), stream.Gap.ContinuesAfter);
        Assert.Equal(new HubEventId(_hub.Epoch, events[9].Id), stream.Gap.LastEventId);
    }

    [Fact]
    public async Task An_id_of_an_earlier_run_is_served_from_what_history_kept_of_that_run()
    {
        var events = await PublishAndStoreAsync(40);
        var earlier = new HubEventId(_hub.Epoch - 60_000, 5); // a run before this one: everything of this run follows it

        var stream = await Streams(new StoredEventHistory(_store, _hub, _board)).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, TelemetryScope.Everything) { ResumeAfter = earlier });

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Equal(events.Select(e => e.Id), Drain(stream).Select(e => e.Id));
    }

    [Fact]
    public async Task Last_values_start_with_the_newest_event_of_each_matching_der_then_live()
    {
        var events = await PublishAndStoreAsync(10);

        var stream = await Streams(NoEventHistory.Instance).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.All, TelemetryScope.Everything) { StartWithLastValues = true });
        var live = _hub.Publish(Meter(A, 50)).Event!;

        Assert.Equal(ResumeOutcome.None, stream.Outcome);
        Assert.Equal([events[8].Id, events[9].Id, live.Id], Drain(stream).Select(e => e.Id));
    }

    [Fact]
    public async Task A_der_known_only_from_history_is_resumed_from_the_store()
    {
        // An earlier run kept readings of a meter that has not reported in this one: the hub never saw it.
        var earlierEpoch = _hub.Epoch - 3_600_000;
        var gone = new DerAddress("o1", "s1", "d2", "gone");
        await _store.WriteAsync([.. Enumerable.Range(1, 5).Select(i => new StoredReading(new EventPosition(earlierEpoch, i), Meter(gone, i)))]);
        _board.Remember(gone, DerType.Meter, DateTimeOffset.FromUnixTimeMilliseconds(T0 + 5000));

        var stream = await Streams(new StoredEventHistory(_store, _hub, _board)).OpenAsync(
            new ReadingStreamRequest(SubjectPattern.Parse(gone.Subject), TelemetryScope.Everything) { ResumeAfter = new HubEventId(earlierEpoch, 2) });

        Assert.Equal(ResumeOutcome.Complete, stream.Outcome);
        Assert.Equal([3L, 4L, 5L], Drain(stream).Select(e => e.Id));
    }

    [Theory]
    [InlineData(null, true, false)]
    [InlineData("", true, false)]
    [InlineData("1795000000000-42", true, true)]
    [InlineData("42", false, false)]
    [InlineData("-1-2", false, false)]
    [InlineData("a-b", false, false)]
    public void Resume_ids_are_parsed_in_one_place(string? text, bool valid, bool present)
    {
        Assert.Equal(valid, ResumeIds.TryParse(text, FeedIdFormat.EpochSequence, "event", out var id, out var error));
        Assert.Equal(present, id is not null);
        Assert.Equal(valid, error.Length == 0);
    }
}
