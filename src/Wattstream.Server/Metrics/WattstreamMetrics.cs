using System.Diagnostics.Metrics;
using Wattstream.Hub;
using Wattstream.Sources;
using Wattstream.Storage;
using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Metrics;

/// <summary>
/// The hub's instruments, on the .NET metrics API (so OpenTelemetry can export them too). They observe the state the
/// hub keeps anyway: nothing is counted on the delivery path. <c>/metrics</c> exports them with the runtime's own meters in Prometheus' text format (prometheus-net's meter adapter: the meter's name is the prefix and
/// dots become underscores, so <c>readings.accepted</c> is <c>wattstream_readings_accepted</c>).
/// </summary>
/// <remarks>
/// The adapter exports observable counters as gauges, so the cumulative series (readings accepted, duplicates, …) carry
/// the gauge type and no <c>_total</c> suffix; <c>rate()</c> works on them all the same.
/// </remarks>
public sealed class WattstreamMetrics : IDisposable
{
    public const string MeterName = "Wattstream";

    private readonly Meter _meter;

    public WattstreamMetrics(IMeterFactory meters, TelemetryHub hub, StreamSupervisor sessions, SourceHost sources, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName);
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
        if (services.GetService<HistoryWriter>() is { } writer)
        {
            _meter.CreateObservableGauge("storage.queue", () => writer.Status.Queued, description: "Readings waiting for the store");
            _meter.CreateObservableGauge("storage.lag", () => writer.Status.LagSeconds, unit: "s", description: "Age of the newest stored reading when it was written");
            _meter.CreateObservableCounter("storage.written", () => writer.Status.Written, description: "Readings written to the store");
            _meter.CreateObservableCounter("storage.dropped", () => writer.Status.Dropped, description: "Readings dropped before the store could take them");
        }
    }

    public void Dispose() => _meter.Dispose();
}
