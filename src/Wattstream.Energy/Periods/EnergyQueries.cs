using Wattstream.Energy.Tariffs;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Periods;

/// <summary>A site's energy periods from history: hourly register values from the store, then the ledger's arithmetic.</summary>
public static class EnergyQueries
{
    /// <summary>How far before a range the store is searched for a register value to count from.</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromHours(6);

    public static async Task<IReadOnlyList<EnergyPeriod>> PeriodsAsync(
        IReadingStore store,
        IReadOnlyList<(DerAddress Address, DerType Type)> ders,
        DateTimeOffset from,
        DateTimeOffset to,
        EnergyPeriodKind kind,
        TimeZoneInfo zone,
        Tariff? tariff,
        DateTimeOffset now,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(ders);
        var start = EnergyLedger.PeriodStart(from, kind, zone);
        var end = EnergyLedger.PeriodStart(to, kind, zone);
        if (end < to)
        {
            end = EnergyLedger.Next(end, kind, zone);
        }

        var fromHour = Floor(start.ToUnixTimeMilliseconds());
        var toHour = Floor(end.ToUnixTimeMilliseconds() + EnergyLedger.HourMs - 1);
        if (ders.Count == 0 || toHour <= fromHour)
        {
            return [];
        }

        var addresses = ders.Select(d => d.Address).ToArray();
        var queryFrom = fromHour - (long)Lookback.TotalMilliseconds;
        var registers = await store.QueryAsync(new HistoryQuery(addresses, queryFrom, toHour, EnergyLedger.HourMs, [HistoryField.ImportWh, HistoryField.ExportWh], Aggregate.Last), cancellationToken);
        var firsts = await store.QueryAsync(new HistoryQuery(addresses, queryFrom, toHour, EnergyLedger.HourMs, [HistoryField.ImportWh, HistoryField.ExportWh], Aggregate.Min), cancellationToken);
        var power = await store.QueryAsync(new HistoryQuery(addresses, queryFrom, toHour, EnergyLedger.HourMs, [HistoryField.W], Aggregate.Avg), cancellationToken);
        var series = new List<RegisterSeries>(ders.Count);
        for (var i = 0; i < ders.Count; i++)
        {
            var averages = power[i].Points.ToDictionary(p => p.Time, p => p.Values[0]);
            var minima = firsts[i].Points.ToDictionary(p => p.Time, p => p.Values); // registers only grow: an hour's minimum is its first value
            series.Add(new RegisterSeries(ders[i].Type, [.. registers[i].Points.Select(p => new RegisterPoint(
                p.Time, p.Values[0], p.Values[1], averages.GetValueOrDefault(p.Time), minima.GetValueOrDefault(p.Time)?[0], minima.GetValueOrDefault(p.Time)?[1]))]));
        }

        var hours = EnergyLedger.Hours(series, fromHour, toHour);
        return EnergyLedger.Periods(hours, kind, zone, tariff, now)
            .Where(p => p.Start >= start && p.Start < end)
            .ToArray();
    }

    private static long Floor(long ms) => ms / EnergyLedger.HourMs * EnergyLedger.HourMs;
}
