using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Wattstream.Alerts;
using Wattstream.Alerts.Delivery;
using Wattstream.Hub.Jobs;
using Wattstream.Nats;
using Wattstream.Nats.Cluster;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Server.Alerts;

/// <summary>
/// Cluster mode's alert log: the JetStream stream <c>ALERTS</c> on the alert subjects (<c>orgs.*.sites.*.alerts.json.v1</c>).
/// A node appends what it raises (the alert's JSON without id, its columns as headers, <c>Nats-Msg-Id</c> from rule,
/// DER, state and time); an ordered consumer on every node brings every alert back, in stream order, with its sequence
/// as id, into the node's <see cref="AlertFeed"/> and into <see cref="History"/> (the newest
/// <c>Alerts:MaxStoredPerOrg</c>, in memory) — so SSE, <c>/ws</c> and <c>/api/alerts</c> say the same on every node.
/// The stream keeps alerts for <c>Alerts:Retention</c> and each org's newest <c>Alerts:MaxStoredPerOrg</c>.
/// </summary>
public sealed class ClusterAlertStream(
    ClusterNode node,
    IServiceProvider services,
    IConfiguration configuration,
    IOptions<AlertsOptions> alerts,
    ILogger<ClusterAlertStream> logger) : IAlertStream, IHostedLifecycleService, IDisposable
{
    public const string StreamName = "ALERTS";
    public const string Subjects = "orgs.*.sites.*.alerts.json.v1";

    private const string RuleHeader = "Wattstream-Alert-Rule";
    private const string TypeHeader = "Wattstream-Alert-Type";
    private const string StateHeader = "Wattstream-Alert-State";
    private const string DerHeader = "Wattstream-Alert-Der";
    private const string TimestampHeader = "Wattstream-Alert-Timestamp";

    private readonly MemoryAlertStore _history = new(alerts.Value.MaxStoredPerOrg);
    private readonly CancellationTokenSource _stopping = new();
    private NatsJSContext? _js;
    private AlertFeed? _feed;
    private Task _consuming = Task.CompletedTask;
    private StreamFollower? _follower;

    public IJobOwnership Jobs => node;

    public IAlertStore History => _history;

    /// <summary>The stream's last sequence when this node opened it (0: empty).</summary>
    public long LastSequenceAtStart { get; private set; }

    /// <summary>The next stream sequence this node expects.</summary>
    public long NextSequence => _follower?.NextSequence ?? 1;

    private NatsJSContext Js => _js ?? throw new InvalidOperationException("The alert stream is not open yet.");

    // After the cluster node connected (registered after it), before any hosted service starts: evaluation and clients
    // begin with every alert the stream holds in the feed.
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (configuration[$"{AlertsOptions.SectionName}:{nameof(AlertsOptions.Evaluate)}"] is not null)
        {
            logger.LogWarning(
                "Alerts:Evaluate is ignored with Nats:Cluster on: a site's alerts are evaluated by the one node that owns its job {Job} (docs/scaling.md)",
                IAlertStream.SiteJob("{org}", "{site}"));
        }

        _js = new NatsJSContext(node.Connection ?? throw new InvalidOperationException("The cluster node has no NATS connection."));
        var retention = alerts.Value.Retention;
        var config = new StreamConfig(StreamName, [Subjects])
        {
            Storage = StreamConfigStorage.File,
            MaxAge = retention,
            DuplicateWindow = node.Options.DuplicateWindow < retention ? node.Options.DuplicateWindow : retention,
            NumReplicas = node.Options.Replicas,
            Description = "Wattstream: every alert of the cluster, its sequence its id",
        };
        var stream = await JetStreamApi.SetUpAsync(c => Js.CreateOrUpdateStreamAsync(config, c), cancellationToken);
        _feed = services.GetRequiredService<AlertFeed>();
        LastSequenceAtStart = (long)stream.Info.State.LastSeq;
        // Made again after a failure from the next sequence, so no alert is delivered twice or skipped.
        _follower = new StreamFollower(Js, StreamName, Math.Max(1L, (long)stream.Info.State.FirstSeq), "alert feed", logger);
        _consuming = Task.Run(() => _follower.RunAsync(DeliverAsync, _stopping.Token), CancellationToken.None);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await CatchUpAsync(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("The alert stream {Stream} was not read to its end within 30 s; this node goes on reading it", StreamName);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _consuming.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    public async Task<long> AppendAsync(StoredAlert alert, string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var headers = new NatsHeaders
        {
            [NatsSubjects.OriginHeader] = node.Node,
            [RuleHeader] = alert.Rule,
            [TypeHeader] = alert.Type,
            [StateHeader] = alert.State,
            [TimestampHeader] = alert.Timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (alert.Der is { } der)
        {
            headers[DerHeader] = der;
        }

        var ack = await Js.PublishAsync(
            AlertSubjects.Of(alert.Org, alert.Site),
            alert.Body,
            opts: new NatsJSPubOpts { MsgId = messageId },
            headers: headers,
            cancellationToken: cancellationToken);
        if (!ack.Duplicate) // a duplicate's acknowledgement carries the first one's sequence
        {
            ack.EnsureSuccess();
        }

        return (long)ack.Seq;
    }

    public async Task CatchUpAsync(CancellationToken cancellationToken = default)
    {
        var stream = await Js.GetStreamAsync(StreamName, cancellationToken: cancellationToken);
        var last = (long)stream.Info.State.LastSeq;
        // An emptied stream (every alert past retention) has nothing to deliver up to its last sequence.
        while (stream.Info.State.Messages > 0 && NextSequence <= last)
        {
            await Task.Delay(10, cancellationToken);
        }
    }

    public async Task TrimAsync(int keepPerOrg, IReadOnlyCollection<string> orgs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orgs);
        foreach (var org in orgs)
        {
            await Js.PurgeStreamAsync(StreamName, new StreamPurgeRequest { Filter = AlertSubjects.Of(org, "*"), Keep = (ulong)keepPerOrg }, cancellationToken);
        }
    }

    // Every alert of the stream, in order, into the feed and the history.
    private async ValueTask DeliverAsync(INatsJSMsg<byte[]> message, NatsJSMsgMetadata metadata, CancellationToken stopping)
    {
        if (Parse((long)metadata.Sequence.Stream, message.Subject, message.Headers, message.Data) is { } row)
        {
            await _history.AppendAsync(row, stopping);
            _feed!.Deliver(row);
        }
    }

    // Another publisher's message on an alert subject without the headers is no alert of ours: skipped.
    private static StoredAlert? Parse(long sequence, string subject, NatsHeaders? headers, byte[]? body)
    {
        var parts = subject.Split('.');
        if (parts.Length != 7 || headers is null || body is not { Length: > 2 }
            || !headers.TryGetValue(RuleHeader, out var rule) || !headers.TryGetValue(TypeHeader, out var type)
            || !headers.TryGetValue(StateHeader, out var state)
            || !long.TryParse(headers[TimestampHeader], System.Globalization.CultureInfo.InvariantCulture, out var timestamp))
        {
            return null;
        }

        var der = headers.TryGetValue(DerHeader, out var d) ? d.ToString() : null;
        return new StoredAlert(sequence, rule.ToString(), type.ToString(), state.ToString(), parts[1], parts[3], der, timestamp, body);
    }
}
