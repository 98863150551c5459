using Wattstream.Telemetry;

namespace Wattstream.Simulation;

/// <summary>The price of an imported kWh at a site at <paramref name="time"/>, in the site's currency (its tariff).</summary>
public delegate double ImportPrice(string siteId, DateTimeOffset time);

/// <summary>All simulated sites of one run. Not thread-safe: one loop steps it.</summary>
public sealed class SiteSimulator
{
    private readonly SimulationOptions _options;

    /// <param name="importPrice">What a prepaid meter's imported energy costs; without it, nothing.</param>
    public SiteSimulator(SimulationOptions options, DateTimeOffset start, ImportPrice? importPrice = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        var seed = options.Seed ?? Random.Shared.Next();
        Seed = seed;
        Sites = Enumerable.Range(1, options.Sites)
            // Derived by arithmetic, not HashCode.Combine, which is randomised per process and would defeat the seed.
            .Select(n => new SimulatedSite(options, n, new Random(unchecked((seed * 7919) + n)), start, importPrice))
            .ToArray();
    }

    public int Seed { get; }

    public IReadOnlyList<SimulatedSite> Sites { get; }

    public TimeSpan Interval => _options.Interval;

    /// <summary>Every site goes on from its last readings (see <see cref="SimulatedSite.ContinueFrom"/>).</summary>
    public void ContinueFrom(Func<DerAddress, Reading?> last)
    {
        foreach (var site in Sites)
        {
            site.ContinueFrom(last);
        }
    }

    /// <summary>Advances every site to <paramref name="now"/>; one reading per DER.</summary>
    public IReadOnlyList<Reading> Step(DateTimeOffset now)
    {
        var readings = new List<Reading>(Sites.Count * 4);
        foreach (var site in Sites)
        {
            readings.AddRange(site.Step(now, _options.Interval));
        }

        return readings;
    }
}
