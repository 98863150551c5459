using System.Diagnostics.Metrics;
using Wattstream.Hub;
using Wattstream.Sources;
using Wattstream.Storage;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Metrics;

/// <summary>
/// The hub's instruments, on the .NET metrics API (so OpenTelemetry can export them too). They observe the state the
/// hub keeps anyway: nothing is counted on the delivery path. <c>/metrics</c> exports them with ASP.NET Core's and the
/// runtime's meters in Prometheus' text format (prometheus-net's meter adapter: the meter's name is the prefix and dots
/// become underscores, so <c>readings.accepted.total</c> is <c>wattstream_readings_accepted_total</c>).
/// </summary>
/// <remarks>
/// The adapter exports observable counters as gauges, so the cumulative series carry the gauge type; their names end in
/// <c>_total</c> as Prometheus names counters, and <c>rate()</c> works on them all the same.
/// </remarks>
public sealed class WattstreamMetrics : IDisposable
{
    public const string MeterName = "Wattstream";

    /// <summary>Kestrel's memory pool meter (<c>aspnetcore.memory_pool.*</c>): a record per rented block, so not exported.</summary>
    public const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    private readonly Meter _meter;
    private readonly IDisposable _adapter;

    static WattstreamMetrics() =>
        // prometheus-net's static default registry listens to every meter of the process; /metrics uses a registry of its own.
        Prometheus.Metrics.SuppressDefaultMetrics(new Prometheus.SuppressDefaultMetricOptions
        {
            SuppressMeters = true,
            SuppressEventCounters = true,
            SuppressDebugMetrics = true,
            SuppressProcessMetrics = true,
        });

    public WattstreamMetrics(IMeterFactory meters, TelemetryHub hub, StreamSupervisor sessions, SourceHost sources, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName);

        // The registry /metrics exports: this host's meters (the hub's, ASP.NET Core's and Kestrel's, all created through
        // this host's meter factory) and the process-wide runtime ones. Meters of another host in the same process (tests)
        // carry the same names; without the scope check their values would overwrite this host's.
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.DotNetStats.Register(Registry);
        _adapter = Prometheus.MeterAdapter.StartListening(new Prometheus.MeterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = null, // else the adapter writes to the default registry's factory and ignores Registry
            // Not Kestrel's memory-pool meter: it records on every block rented and returned (every flush of every
            // connection), and the adapter's label lookup per record took 15 % of the server's CPU when a reading went
            // out to 1 000 clients (docs/benchmarks.md, issue 19). Nothing listening, Kestrel does not record at all.
            InstrumentFilterPredicate = instrument => instrument.Meter.Name != MemoryPoolMeter
                && (ReferenceEquals(instrument.Meter.Scope, meters)
                    || (instrument.Meter.Scope is null && instrument.Meter.Name.StartsWith("System.", StringComparison.Ordinal))),
        });
        // Counters carry Prometheus' _total in their names (the adapter exports observable counters as gauges, so the
        // suffix is ours); gauges are plain. Base units: seconds, counts.
        _meter.CreateObservableCounter("readings.accepted.total", () => hub.Counters.Accepted, description: "Readings the hub accepted (messages in)");
        _meter.CreateObservableCounter("frames.sent.total", () => sessions.FramesSent, description: "Frames written to clients over every transport (messages out)");
        _meter.CreateObservableCounter("dropped.total", () => new[]
        {
            new Measurement<long>(hub.Counters.Duplicates, new KeyValuePair<string, object?>("reason", "duplicate")),
            new Measurement<long>(hub.Rejections[RejectionReason.DerLimit], new KeyValuePair<string, object?>("reason", "der_limit")),
            new Measurement<long>(hub.Counters.DroppedByUnsubscribed, new KeyValuePair<string, object?>("reason", "slow_client")),
        }, description: "Readings or events dropped, by reason (history and NATS drops: wattstream_storage_dropped_total, wattstream_nats_dropped_total)");
        _meter.CreateObservableCounter("readings.duplicates.total", () => hub.Counters.Duplicates, description: "Readings dropped as duplicates (dedup hits)");
        _meter.CreateObservableCounter("readings.rejected.total", () => Enum.GetValues<RejectionReason>()
            .Select(r => new Measurement<long>(hub.Rejections[r], new KeyValuePair<string, object?>("reason", ReadingRejections.Label(r))))
            .Append(new Measurement<long>(sources.Statuses().Sum(s => s.Rejected), new KeyValuePair<string, object?>("reason", "malformed_upstream"))),
            description: "Readings refused, by reason: the hub's DER limits and the push API's checks; malformed_upstream: events sources skipped");
        if (services.GetService<Access.AuthFailureThrottle>() is { } throttle)
        {
            _meter.CreateObservableCounter("auth.throttled.total", () => throttle.Refused, description: "Credential attempts refused with 429 because their address presented too many refused credentials");
        }

        if (services.GetService<Access.ApiKeyLimit>() is { } keyLimit)
        {
            _meter.CreateObservableCounter("auth.keys.refused.total", () => keyLimit.Refused, description: "API keys refused by Auth:MaxKeysPerOrg (409 too_many_keys)");
        }

        _meter.CreateObservableCounter("subscriber.dropped.total", () => hub.Counters.DroppedByUnsubscribed, description: "Events that ended subscriptions had lost (slow clients)");
        _meter.CreateObservableGauge("subscriber.backlog", () => hub.SubscriberBacklog(), description: "Events waiting in subscriber queues");
        _meter.CreateObservableGauge("ders", () => hub.Counters.Ders, description: "DERs the hub knows");
        _meter.CreateObservableGauge("subscriptions", () => hub.Counters.Subscribers, description: "Hub subscriptions (clients' streams, history, status)");
        _meter.CreateObservableGauge("connections", () => Connections(sessions), description: "Open streaming connections by transport and wire family");
        // The sources this node runs: in a cluster each counts on its owner only, so the nodes' sum is the cluster's.
        _meter.CreateObservableGauge("sources", () => sources.Statuses()
            .Where(s => s.Owner is not null)
            .GroupBy(s => s.Status)
            .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("status", g.Key))), description: "Configured sources this node runs, by status");
        _meter.CreateObservableCounter("source.reconnects.total", () => sources.Statuses().Sum(s => s.Reconnects), description: "Reconnects of all sources");
        if (services.GetService<Wattstream.Nats.NatsPublisher>() is { } nats)
        {
            _meter.CreateObservableGauge("nats.connected", () => nats.Status.State == "open" ? 1 : 0, description: "1 while the NATS link is open");
            _meter.CreateObservableCounter("nats.published.total", () => nats.Status.Published, description: "Readings published to NATS");
            _meter.CreateObservableCounter("nats.statuses.published.total", () => nats.Status.Feeds.GetValueOrDefault(Feeds.StatusFeed.Kind), description: "Status changes published to NATS");
            _meter.CreateObservableCounter("nats.dropped.total", () => nats.Status.Dropped, description: "Readings dropped while NATS was away past the queue's capacity");
            _meter.CreateObservableCounter("nats.failed.total", () => nats.Status.Failed, description: "Publishes NATS refused on an open connection (skipped)");
        }

        if (services.GetService<Wattstream.Nats.Cluster.ClusterNode>() is { } node)
        {
            // Cluster mode: where this node is in the stream, and what its log writer did.
            _meter.CreateObservableGauge("cluster.connected", () => node.Status.State == "open" ? 1 : 0, description: "1 while this cluster node's NATS connection is open");
            _meter.CreateObservableGauge("cluster.sequence", () => node.Status.NextSequence - 1, description: "The last stream sequence this node has taken into its hub");
            _meter.CreateObservableGauge("cluster.pending", () => node.Status.Pending, description: "Messages of the stream this node has not taken yet");
            _meter.CreateObservableCounter("cluster.delivered.total", () => node.Status.Delivered, description: "Readings the stream delivered into this node's hub");
            _meter.CreateObservableCounter("cluster.skipped.total", () => node.Status.Skipped, description: "Messages of the stream that were no reading (skipped)");
            _meter.CreateObservableCounter("cluster.appended.total", () => node.Status.Appended, description: "Readings this node appended to the stream");
            _meter.CreateObservableCounter("cluster.duplicates.total", () => node.Status.Duplicates, description: "Readings this node appended that the stream already had");
            _meter.CreateObservableGauge("cluster.waiting", () => node.Status.Waiting, description: "Readings of this node waiting to be appended to the stream");
            _meter.CreateObservableCounter("cluster.dropped.total", () => node.Status.Dropped, description: "Readings of this node dropped while the stream was away, past Nats:QueueCapacity");
            _meter.CreateObservableGauge("cluster.nodes", () => node.Coordinator?.Membership.LiveNodes ?? 0, description: "Live cluster nodes as this node last saw the membership bucket");
            _meter.CreateObservableGauge("cluster.jobs.owned", () => node.Coordinator?.Leases.Owned.Count ?? 0, description: "Jobs this node runs under a confirmed lease");
            _meter.CreateObservableCounter("cluster.job.moves.total", () => node.Coordinator?.Leases.Moves ?? 0, description: "Job leases this node took (a job starting here, first or moved from another node)");
        }

        if (services.GetService<Wattstream.Alerts.AlertService>() is { } alerts)
        {
            _meter.CreateObservableGauge("alerts.firing", () => alerts.Stats().Firing, description: "Alerts firing now (announced, not resolved)");
            _meter.CreateObservableCounter("alerts.notifications.total", () => alerts.Stats().Notifications, description: "Alert notifications made by evaluation (firing and resolved)");
            _meter.CreateObservableCounter("alerts.suppressed.total", () => alerts.Stats().Suppressed, description: "Firing transitions kept quiet by a rule's repeat window");
            _meter.CreateObservableCounter("alerts.skipped.readings.total", () => alerts.Stats().SkippedReadings, description: "Readings evaluation skipped because its queue was full");
            // Labelled by org: only orgs that went over budget have a series, and orgs are the operator's tenants, not callers' input.
            var budget = services.GetRequiredService<Wattstream.Alerts.Delivery.AlertBudget>();
            _meter.CreateObservableCounter("alerts.budget.suppressed.total", () => budget.SuppressedByOrg()
                .Select(o => new Measurement<long>(o.Value, new KeyValuePair<string, object?>("org", o.Key))), description: "Alerts not raised because their org was over Alerts:MaxAlertsPerMinutePerOrg");
            var rules = services.GetRequiredService<Wattstream.Alerts.Rules.AlertRuleSet>();
            _meter.CreateObservableCounter("alerts.rules.refused.total", () => rules.Refused, description: "Rules refused by Alerts:MaxRules or Alerts:MaxRulesPerOrg (409 too_many_rules)");
            _meter.CreateObservableCounter("alerts.cleanup.deleted.total", () => alerts.CleanedUp, description: "Stored alerts deleted past Alerts:Retention or Alerts:MaxStoredPerOrg");
        }

        if (services.GetService<Wattstream.Alerts.Webhooks.WebhookDispatcher>() is { } webhooks)
        {
            _meter.CreateObservableCounter("alerts.webhook.deliveries.total", () => webhooks.Statuses().SelectMany(w => new[]
            {
                new Measurement<long>(w.Delivered, new KeyValuePair<string, object?>("webhook", w.Name), new KeyValuePair<string, object?>("outcome", "delivered")),
                new Measurement<long>(w.Failed, new KeyValuePair<string, object?>("webhook", w.Name), new KeyValuePair<string, object?>("outcome", "failed")),
            }), description: "Webhook deliveries by outcome (failed: in the dead-letter list)");
        }

        if (services.GetService<HistoryWriter>() is { } writer)
        {
            _meter.CreateObservableGauge("storage.queue", () => writer.Status.Queued, description: "Readings waiting for the store");
            _meter.CreateObservableGauge("storage.lag.seconds", () => writer.Status.LagSeconds, unit: "s", description: "Age of the newest stored reading when it was written");
            _meter.CreateObservableCounter("storage.written.total", () => writer.Status.Written, description: "Readings written to the store");
            _meter.CreateObservableCounter("storage.dropped.total", () => writer.Status.DroppedByReason!
                .Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>("reason", r.Key))),
                description: "Readings lost before the store could take them, by reason: queue_full (the queue dropped its oldest), shutdown (abandoned after Storage:ShutdownGrace)");
            _meter.CreateObservableGauge("storage.failing", () => writer.IsFailing ? 1 : 0, description: "1 while writes to the store fail (readings queue meanwhile)");
            _meter.CreateObservableGauge("storage.durable.waiting", () => writer.Durable.Pending, description: "Readings of durable pushes waiting for the store");
            var refusals = services.GetRequiredService<Endpoints.Ingest.DurablePushRefusals>();
            _meter.CreateObservableCounter("storage.durable.refused.total", () => refusals.Counts
                .Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>("reason", r.Key))),
                description: "Durable pushes refused, by reason: store_away and reserve_full (503 store_unavailable), busy (429, Ingest:MaxConcurrentDurablePushes)");
            _meter.CreateObservableGauge("storage.damaged", () => writer.Store.Damage is null ? 0 : 1, description: "1 once the store found its file damaged (it writes nothing more; GET /api/storage says what)");
            if (writer.Store.Size is not null)
            {
                _meter.CreateObservableGauge("storage.file.bytes", () => writer.Store.Size?.FileBytes ?? 0, description: "The SQLite database file's size");
                _meter.CreateObservableGauge("storage.used.bytes", () => writer.Store.Size?.UsedBytes ?? 0, description: "What the readings and indexes take of the file (Storage:MaxBytes caps this)");
                _meter.CreateObservableGauge("storage.wal.bytes", () => writer.Store.Size?.WalBytes ?? 0, description: "The SQLite write-ahead log's size (checkpointed every Storage:CheckpointInterval)");
            }

            if (services.GetService<RetentionService>() is { } retention)
            {
                _meter.CreateObservableCounter("storage.maxbytes.deleted.total", () => retention.DeletedForSize, description: "The oldest readings deleted to keep the store under Storage:MaxBytes");
            }
        }
    }

    // Every (transport, family) seen so far is reported, at 0 once its last connection is gone: a series that stopped
    // being reported would keep its last value in the exporter until it expires.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Transport, string Family), byte> _connectionSeries = new();

    private IEnumerable<Measurement<int>> Connections(StreamSupervisor sessions)
    {
        var open = sessions.SessionsByFamily().ToDictionary(c => (c.Transport, c.Family), c => c.Count);
        foreach (var key in open.Keys)
        {
            _connectionSeries.TryAdd(key, 0);
        }

        return _connectionSeries.Keys.Select(k => new Measurement<int>(
            open.GetValueOrDefault(k),
            new KeyValuePair<string, object?>("transport", k.Transport),
            new KeyValuePair<string, object?>("family", k.Family))).ToArray();
    }

    /// <summary>What <c>/metrics</c> exports.</summary>
    public Prometheus.CollectorRegistry Registry { get; }

    public void Dispose()
    {
        _adapter.Dispose();
        _meter.Dispose();
    }
}
