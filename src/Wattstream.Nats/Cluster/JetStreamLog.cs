using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Hub;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// Cluster mode's log writer: readings made on this node (sources, the simulator, NATS ingest, the push API) go to the
/// JetStream stream, as Novacore reading JSON with <c>Nats-Msg-Id</c> so a reading two nodes both see is stored once.
/// They come back to every node, this one included, through <see cref="JetStreamFeed"/>.
/// </summary>
/// <remarks>
/// Readings handed over without waiting queue here (the oldest dropped past <see cref="NatsOptions.QueueCapacity"/>,
/// counted) and go out pipelined: up to <see cref="NatsOptions.MaxPendingAcks"/> wait for JetStream's acknowledgement at
/// once, and one that gets none (NATS away) is sent again until it does. The push API waits for its own acknowledgement.
/// </remarks>
public sealed class JetStreamLog : IReadingLog
{
    private readonly NatsJSContext _js;
    private readonly NatsOptions _options;
    private readonly ILogger _log;
    private readonly Channel<Reading> _queue;
    private readonly NatsConnection _connection;
    private static readonly Backoff Retry = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
    private long _appended;
    private long _duplicates;
    private long _dropped;
    private long _failed;
    private string? _lastError;

    internal JetStreamLog(NatsConnection connection, NatsOptions options, ILogger log)
    {
        _connection = connection;
        _js = new NatsJSContext(connection);
        _options = options;
        _log = log;
        _queue = Channel.CreateBounded<Reading>(
            new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    public long Appended => Interlocked.Read(ref _appended);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Failed => Interlocked.Read(ref _failed);

    public int Waiting => _queue.Reader.Count;

    public string? LastError => Volatile.Read(ref _lastError);

    public void Append(Reading reading) => _queue.Writer.TryWrite(reading);

    public async ValueTask<PublishResult> AppendAsync(Reading reading, CancellationToken cancellationToken = default)
    {
        // A caller that waits is told at once while NATS is away (the push API answers 503, and the gateway sends again),
        // rather than queued behind a reconnect that may resend in any order.
        if (!Connected)
        {
            throw new NatsException($"not connected to {NatsConnections.SafeUrl(_options.Url!)}");
        }

        var ack = await SendAsync(reading, cancellationToken);
        return Count(ack);
    }

    public async ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default)
    {
        var stream = await _js.GetStreamAsync(_options.Stream, cancellationToken: cancellationToken);
        return (long)stream.Info.State.LastSeq;
    }

    /// <summary>Sends what is queued until <paramref name="stopping"/>; what is still queued then is lost (the log is shut).</summary>
    internal async Task RunAsync(CancellationToken stopping)
    {
        var inFlight = new Queue<(Reading Reading, Task<PubAckResponse> Ack)>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopping))
            {
                while (_queue.Reader.TryRead(out var reading))
                {
                    if (!Connected)
                    {
                        // NATS is away: what is in flight settles (resent one by one, in order), and nothing new is sent
                        // into a reconnect, which would release it in any order.
                        while (inFlight.Count > 0)
                        {
                            await SettleAsync(inFlight.Dequeue(), stopping);
                        }

                        while (!Connected)
                        {
                            await Task.Delay(50, stopping);
                        }
                    }

                    inFlight.Enqueue((reading, SendAsync(reading, stopping).AsTask()));
                    if (inFlight.Count >= _options.MaxPendingAcks)
                    {
                        await SettleAsync(inFlight.Dequeue(), stopping);
                    }
                }

                while (inFlight.Count > 0)
                {
                    await SettleAsync(inFlight.Dequeue(), stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    // Waits for one acknowledgement; a reading that got none is sent again (after a backoff while NATS is away) until it
    // does, so nothing queued is skipped. One JetStream refuses for good (too large) is counted and skipped.
    private async Task SettleAsync((Reading Reading, Task<PubAckResponse> Ack) sent, CancellationToken stopping)
    {
        var attempt = 0;
        var ack = sent.Ack;
        while (true)
        {
            try
            {
                Count(await ack);
                return;
            }
            catch (NatsJSApiException e)
            {
                Interlocked.Increment(ref _failed);
                Volatile.Write(ref _lastError, $"JetStream refused a reading: {e.Error.Description}");
                _log.LogWarning("JetStream refused a reading of {Subject}: {Error}; skipped", sent.Reading.Der.Subject, e.Error.Description);
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException && !stopping.IsCancellationRequested)
            {
                Volatile.Write(ref _lastError, $"no acknowledgement from {NatsConnections.SafeUrl(_options.Url!)} ({e.GetType().Name}); sending again");
                await Task.Delay(Retry.Delay(attempt++), stopping);
                ack = SendAsync(sent.Reading, stopping).AsTask();
            }
        }
    }

    private ValueTask<PubAckResponse> SendAsync(Reading reading, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders { [NatsSubjects.OriginHeader] = _options.Node };
        var opts = new NatsJSPubOpts { MsgId = Subjects.MessageId(reading.Der, reading.Timestamp) };
        return _js.PublishAsync(reading.Der.Subject, NovacoreReading.ToUtf8(reading), opts: opts, headers: headers, cancellationToken: cancellationToken);
    }

    private PublishResult Count(PubAckResponse ack)
    {
        if (ack.Duplicate) // before EnsureSuccess, which takes a duplicate for a failure
        {
            Interlocked.Increment(ref _duplicates);
            return new PublishResult(PublishOutcome.Duplicate, null);
        }

        ack.EnsureSuccess();

        Interlocked.Increment(ref _appended);
        return new PublishResult(PublishOutcome.Accepted, null, null, (long)ack.Seq);
    }

    internal bool Connected => _connection.ConnectionState == NatsConnectionState.Open;
}
