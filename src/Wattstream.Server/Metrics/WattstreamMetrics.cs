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
/// become underscores, so <c>readings.accepted</c> is <c>wattstream_readings_accepted</c>).
/// </summary>
/// <remarks>
/// The adapter exports observable counters as gauges, so the cumulative series (readings accepted, duplicates, …) carry
/// the gauge type and no <c>_total</c> suffix; <c>rate()</c> works on them all the same.
/// </remarks>
public sealed class WattstreamMetrics : IDisposable
{
    public const string MeterName = "Wattstream";

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
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter.Scope, meters)
                || (instrument.Meter.Scope is null && instrument.Meter.Name.StartsWith("System.", StringComparison.Ordinal)),
        });
        _meter.CreateObservableCounter("readings.accepted", () => hub.Counters.Accepted, description: "Readings the hub accepted");
        _meter.CreateObservableCounter("readings.duplicates", () => hub.Counters.Duplicates, description: "Readings dropped as duplicates");
        _meter.CreateObservableCounter("readings.rejected", () => hub.Counters.Rejected, description: "Readings of new DERs refused by a limit");
        _meter.CreateObservableCounter("subscriber.dropped", () => hub.Counters.DroppedByUnsubscribed, description: "Events that ended subscriptions had lost (slow clients)");
        _meter.CreateObservableGauge("ders", () => hub.Counters.Ders, description: "DERs the hub knows");
        _meter.CreateObservableGauge("subscriptions", () => hub.Counters.Subscribers, description: "Hub subscriptions (clients' streams, history, status)");
        _meter.CreateObservableGauge("connections", () => new[]
        {
            new Measurement<int>(sessions.SessionsOf("sse"), new KeyValuePair<string, object?>("transport", "sse")),
            new Measurement<int>(sessions.SessionsOf("websocket"), new KeyValuePair<string, object?>("transport", "websocket")),
        }, description: "Open streaming connections by transport");
        _meter.CreateObservableGauge("sources", () => sources.Statuses()
            .GroupBy(s => s.Status)
            .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("status", g.Key))), description: "Configured sources by status");
        _meter.CreateObservableCounter("source.reconnects", () => sources.Statuses().Sum(s => s.Reconnects), description: "Reconnects of all sources");
        if (services.GetService<Wattstream.Nats.NatsPublisher>() is { } nats)
        {
            _meter.CreateObservableGauge("nats.connected", () => nats.Status.State == "open" ? 1 : 0, description: "1 while the NATS link is open");
            _meter.CreateObservableCounter("nats.published", () => nats.Status.Published, description: "Readings published to NATS");
            _meter.CreateObservableCounter("nats.statuses.published", () => nats.Status.StatusesPublished, description: "Status changes published to NATS");
            _meter.CreateObservableCounter("nats.dropped", () => nats.Status.Dropped, description: "Readings dropped while NATS was away past the queue's capacity");
            _meter.CreateObservableCounter("nats.failed", () => nats.Status.Failed, description: "Publishes NATS refused on an open connection (skipped)");
        }

        if (services.GetService<HistoryWriter>() is { } writer)
        {
            _meter.CreateObservableGauge("storage.queue", () => writer.Status.Queued, description: "Readings waiting for the store");
            _meter.CreateObservableGauge("storage.lag", () => writer.Status.LagSeconds, unit: "s", description: "Age of the newest stored reading when it was written");
            _meter.CreateObservableCounter("storage.written", () => writer.Status.Written, description: "Readings written to the store");
            _meter.CreateObservableCounter("storage.dropped", () => writer.Status.Dropped, description: "Readings dropped before the store could take them");
        }
    }

    /// <summary>What <c>/metrics</c> exports.</summary>
    public Prometheus.CollectorRegistry Registry { get; }

    public void Dispose()
    {
        _adapter.Dispose();
        _meter.Dispose();
    }
}
