using Wattstream.Hub;
using Wattstream.Streaming.Formats;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Feeds;

/// <summary>
/// The readings as a feed: the hub's streams (ring, cluster log, history, live, through <see cref="ReadingStreams"/>) in
/// the payload format the client picks, framed by its transport. On NATS each reading goes to its DER's telemetry
/// subject in <paramref name="natsFormat"/>, with a message id for JetStream's de-duplication.
/// </summary>
public sealed class ReadingsFeed(ReadingStreams streams, PayloadFormats formats, PayloadFormat? natsFormat) : IFeed
{
    public const string KindName = "readings";

    public string Kind => KindName;

    public string EventName => "reading";

    public bool IsResumable => true;

    public FeedPublication Publication => FeedPublication.Stream;

    public PayloadFormats Formats => formats;

    public async Task<FeedOpening> OpenAsync(FeedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (formats.Find(request.Format) is not { } format)
        {
            var names = string.Join(", ", formats.All.Select(f => f.Name));
            return FeedOpening.Refused("unknown_format", $"format must be one of {names} (default {formats.Default.Name}), not '{request.Format}'.");
        }

        if (!ResumeIds.TryParse(request.LastEventId, FeedIdFormat.EpochSequence, "event", out var resumeAfter, out var error))
        {
            return FeedOpening.Refused("bad_last_event_id", error);
        }

        var encoder = request.Framing.ReadingEncoder(this, formats.ForScope(format, request.Scope));
        var stream = await streams.OpenAsync(new ReadingStreamRequest(request.Pattern, request.Scope, encoder.CanEncode) { ResumeAfter = resumeAfter }, cancellationToken);
        return FeedOpening.Opened(new FeedStream<HubEvent>(stream.Subscription, e => e.GetEncoded(encoder))
        {
            Outcome = stream.Outcome,
            Gap = stream.Gap,
            FromStore = stream.FromHistory,
            Format = format.Name,
        });
    }

    public IFeedMessages OpenPublication(int capacity)
    {
        var format = natsFormat ?? throw new InvalidOperationException("Readings have no NATS payload format (the Novacore family is not registered).");
        return new FeedMessages<HubEvent>(
            streams.Hub.Subscribe(SubjectPattern.All, new SubscribeOptions { QueueCapacity = capacity }),
            e => new FeedMessage(e.Subject, e.GetEncoded(format), Subjects.MessageId(e.Reading.Der, e.Reading.Timestamp)));
    }

    public void CompleteAll() => streams.Hub.CompleteAll();

    public override string ToString() => Kind;
}
