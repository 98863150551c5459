using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Wattstream.Hub;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// Cluster mode's only way into a node's hub: an ordered consumer of the JetStream stream whose messages become events
/// with the stream sequence as id (<see cref="TelemetryHub.Deliver"/>). Every node runs one, so every node holds the
/// same events in the same order under the same ids. Its <see cref="StreamFollower"/> follows NATS across reconnects and
/// server restarts; when the consumer has to be made again, it starts after the last sequence delivered, so nothing is
/// lost or delivered twice.
/// </summary>
public sealed class JetStreamFeed
{
    private readonly TelemetryHub _hub;
    private readonly StreamFollower _follower;
    private long _delivered;
    private long _skipped;
    private long _pending;
    private readonly RateLimitedLog _faults;

    internal JetStreamFeed(NatsConnection connection, NatsOptions options, TelemetryHub hub, long startSequence, ILogger log)
    {
        _hub = hub;
        _follower = new StreamFollower(new NatsJSContext(connection), options.Stream, startSequence, "cluster feed", log);
        _faults = new RateLimitedLog(log, TimeProvider.System, TimeSpan.FromMinutes(1));
    }

    /// <summary>The next stream sequence this node expects.</summary>
    public long NextSequence => _follower.NextSequence;

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Messages in the stream that were no reading (another publisher's malformed JSON): counted, skipped.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Messages the stream holds that this node has not taken yet, as the last message said.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    internal Task RunAsync(CancellationToken stopping) => _follower.RunAsync(
        (message, metadata, _) =>
        {
            Interlocked.Exchange(ref _pending, (long)metadata.NumPending);
            if (Parse(message.Subject, message.Data) is { } reading)
            {
                _hub.Deliver(reading, (long)metadata.Sequence.Stream);
                Interlocked.Increment(ref _delivered);
            }

            return ValueTask.CompletedTask;
        },
        stopping);

    internal static Reading? TryParse(string subject, byte[]? data) =>
        NatsSubjects.TelemetryAddress(subject) is { } der && data is { Length: > 0 } ? ParseOrNull(data, der) : null;

    private static Reading? ParseOrNull(byte[] data, DerAddress der)
    {
        try
        {
            return NovacoreReading.Parse(data, der);
        }
        catch (TelemetryFormatException)
        {
            return null;
        }
    }

    private Reading? Parse(string subject, byte[]? data)
    {
        if (TryParse(subject, data) is { } reading)
        {
            return reading;
        }

        // Only another publisher writing into the stream's subjects can put a non-reading there: counted, logged at
        // most once a minute, skipped; its sequence is simply no event on any node.
        Interlocked.Increment(ref _skipped);
        _faults.Warn("cluster_not_a_reading", $"The cluster feed skipped a message on {(subject.Length <= 120 ? subject : subject[..120])} that is no Novacore reading ({Skipped} so far)");

        return null;
    }
}
