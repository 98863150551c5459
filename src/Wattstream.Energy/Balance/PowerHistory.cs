using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Balance;

/// <summary>
/// A site's power balance over time, from history: each bucket's average power of each DER, balanced by
/// <see cref="PowerBalance.Of"/> exactly as the live summary is, so a chart of the past and of the present agree.
/// </summary>
public static class PowerHistory
{
    /// <summary>
    /// The balance of every bucket that each DER with power in the window reported into. A bucket one of them is missing
    /// from (the newest, still filling, or a gap) is left out: balanced without that DER it would count it as 0.
    /// </summary>
    /// <param name="series">History of the site's DERs with <see cref="HistoryField.W"/> as the first field.</param>
    /// <param name="types">Each DER's type; series of DERs not in it are not counted.</param>
    public static IReadOnlyList<PowerBalance> Of(IReadOnlyList<HistorySeries> series, IReadOnlyDictionary<DerAddress, DerType> types)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(types);
        var buckets = new SortedDictionary<long, List<Reading>>();
        var reporting = 0;
        foreach (var s in series)
        {
            if (!types.TryGetValue(s.Der, out var type) || !s.Points.Any(p => p.Values[0] is not null))
            {
                continue;
            }

            reporting++;
            foreach (var p in s.Points)
            {
                if (p.Values[0] is not { } watts)
                {
                    continue;
                }

                if (!buckets.TryGetValue(p.Time, out var readings))
                {
                    readings = [];
                    buckets[p.Time] = readings;
                }

                readings.Add(new Reading(s.Der, type, p.Time, null, [new Measurement(Quantity.ActivePower, watts, Unit.Watt)]));
            }
        }

        return [.. buckets.Values.Where(r => r.Count == reporting).Select(PowerBalance.Of)];
    }
}
