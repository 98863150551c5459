using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Hub;
using Wattstream.Hub.Resume;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// Resume in cluster mode, between the node's ring and its store: ids are stream sequences, so the stream itself can
/// replay what a client missed, whichever node it was on (<c>DeliverByStartSequence</c>, filtered to its subjects).
/// An id of another stream, or older than what the stream still keeps, goes on to the store.
/// </summary>
public sealed class JetStreamEventHistory(ClusterNode node, IEventHistory store) : IEventHistory
{
    private const int Batch = 512;

    public bool IsAvailable => true;

    public async Task<IReadOnlyList<HubEvent>> ReadAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default) =>
        (await ReadRangeAsync(pattern, after, before, limit, cancellationToken)).Events;

    public async Task<HistoryRange> ReadRangeAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (node.Connection is not { } connection || after.Epoch != node.Epoch || before.Epoch != node.Epoch)
        {
            return await FromStoreAsync(pattern, after, before, limit, cancellationToken);
        }

        var js = new NatsJSContext(connection);
        var stream = await js.GetStreamAsync(node.Options.Stream, cancellationToken: cancellationToken);
        if ((long)stream.Info.State.FirstSeq > after.Sequence + 1)
        {
            return await FromStoreAsync(pattern, after, before, limit, cancellationToken); // the stream has let part of the gap go
        }

        var events = new List<HubEvent>();
        if (after.Sequence + 1 >= before.Sequence || NatsSubjects.TelemetryFilter(pattern.Pattern) is not { } filter)
        {
            return new HistoryRange(events, Complete: true); // nothing between, or nothing the stream keeps matches
        }

        var consumer = await js.CreateOrderedConsumerAsync(
            node.Options.Stream,
            new NatsJSOrderedConsumerOpts
            {
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                OptStartSeq = (ulong)(after.Sequence + 1),
                FilterSubjects = filter == NatsSubjects.AllTelemetry ? [] : [filter],
            },
            cancellationToken);
        while (events.Count < limit)
        {
            var fetched = 0;
            await foreach (var message in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = Math.Min(Batch, limit - events.Count) }, cancellationToken: cancellationToken))
            {
                fetched++;
                var sequence = (long)(message.Metadata?.Sequence.Stream ?? 0);
                if (sequence >= before.Sequence)
                {
                    return new HistoryRange(events, Complete: true);
                }

                if (JetStreamFeed.TryParse(message.Subject, message.Data) is { } reading && pattern.Matches(reading.Der.Subject))
                {
                    events.Add(HubEvent.FromHistory(node.Epoch, sequence, reading));
                }
            }

            if (fetched == 0)
            {
                break; // nothing more in the stream for this filter
            }
        }

        return new HistoryRange(events, Complete: events.Count < limit);
    }

    private async Task<HistoryRange> FromStoreAsync(SubjectPattern pattern, HubEventId after, HubEventId before, int limit, CancellationToken cancellationToken) =>
        new(await store.ReadAsync(pattern, after, before, limit, cancellationToken), Complete: false);
}
