using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Telemetry;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// Follows one JetStream stream from a sequence on: an ordered consumer hands every message, in stream order, to the
/// follower's handler. When the consumer fails (a reconnect, a server restart, a new stream leader) it is made again,
/// after a backoff, from the sequence after the last one handled, so no message is handled twice or skipped. Cluster
/// mode's readings (<see cref="JetStreamFeed"/>) and alerts follow their streams with it.
/// </summary>
public sealed class StreamFollower
{
    private static readonly Backoff Retry = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
    private readonly NatsJSContext _js;
    private readonly string _stream;
    private readonly string _what;
    private readonly ILogger _log;
    private long _next;

    /// <param name="js">The JetStream context of the node's connection.</param>
    /// <param name="stream">The stream's name.</param>
    /// <param name="startSequence">The first sequence to hand on (1 for the whole stream).</param>
    /// <param name="what">What follows the stream, as the warning of a restarted consumer names it (e.g. "cluster feed").</param>
    /// <param name="log">Where that warning goes.</param>
    public StreamFollower(NatsJSContext js, string stream, long startSequence, string what, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentException.ThrowIfNullOrEmpty(what);
        ArgumentNullException.ThrowIfNull(log);
        _js = js;
        _stream = stream;
        _what = what;
        _log = log;
        _next = startSequence;
    }

    /// <summary>The next stream sequence this follower expects.</summary>
    public long NextSequence => Interlocked.Read(ref _next);

    /// <summary>
    /// Hands every message from <see cref="NextSequence"/> on to <paramref name="handle"/> (with its stream metadata) until
    /// <paramref name="stopping"/> is cancelled; returns then. A message is counted as handled once the handler returns.
    /// </summary>
    public async Task RunAsync(Func<INatsJSMsg<byte[]>, NatsJSMsgMetadata, CancellationToken, ValueTask> handle, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var attempt = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var consumer = await _js.CreateOrderedConsumerAsync(
                    _stream,
                    new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = (ulong)NextSequence },
                    stopping);
                await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: stopping))
                {
                    attempt = 0;
                    if (message.Metadata is not { } metadata)
                    {
                        continue;
                    }

                    await handle(message, metadata, stopping);
                    Interlocked.Exchange(ref _next, (long)metadata.Sequence.Stream + 1);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException or InvalidOperationException)
            {
                _log.LogWarning("The {What} from stream {Stream} stopped ({Error}); starting again at sequence {Sequence}", _what, _stream, e.Message, NextSequence);
                await Task.Delay(Retry.Delay(attempt++), stopping).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}
