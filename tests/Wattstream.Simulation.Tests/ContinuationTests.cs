using Wattstream.Telemetry;

namespace Wattstream.Simulation.Tests;

/// <summary>
/// In a cluster the simulator moves between nodes with its job; the node taking it over starts a fresh simulator with
/// the same seed and continues from the last readings. Its energy registers must not step back to the start values.
/// </summary>
public class ContinuationTests
{
    private static readonly DateTimeOffset Noon = new(2026, 6, 15, 12, 0, 0, TimeSpan.FromHours(2));

    private static readonly Quantity[] Registers =
    [
        // The totals too: each register is written rounded on its own, so the tariffs' sum can be under the total.
        Quantity.EnergyImport, Quantity.EnergyExport,
        Quantity.EnergyImportT1, Quantity.EnergyImportT2, Quantity.EnergyExportT1, Quantity.EnergyExportT2,
        Quantity.ReactiveEnergyImport, Quantity.EnergyGenerated, Quantity.EnergyCharged, Quantity.EnergyDischarged,
    ];

    private static SimulationOptions Options() => new() { Seed = 11, TimeZone = "Europe/Zurich", EvChargerSites = [1] };

    private static Unit UnitOf(Quantity q) => q == Quantity.ReactiveEnergyImport ? Unit.VarHour : Unit.WattHour;

    [Fact]
    public void A_simulator_taking_over_goes_on_from_the_last_readings_and_its_registers_never_step_back()
    {
        // The first node simulates two busy midday hours: PV exports, the battery charges, the meter counts.
        var first = new SiteSimulator(Options(), Noon);
        var last = new Dictionary<DerAddress, Reading>();
        for (var second = 1; second <= 7200; second += 5)
        {
            foreach (var r in first.Step(Noon.AddSeconds(second)))
            {
                last[r.Der] = r;
            }
        }

        // A fresh simulator with the same seed (another node) starts from the start values: behind the last readings.
        var fresh = new SiteSimulator(Options(), Noon.AddSeconds(7200));
        var behind = fresh.Step(Noon.AddSeconds(7205)).Count(r => Registers.Any(q =>
            r.TryGet(q, UnitOf(q), out var v) && last[r.Der].TryGet(q, UnitOf(q), out var before) && v < before));
        Assert.True(behind > 0, "a fresh simulator would step the registers back (the case this guards against)");

        var next = new SiteSimulator(Options(), Noon.AddSeconds(7200));
        next.ContinueFrom(der => last.GetValueOrDefault(der));
        var continued = next.Step(Noon.AddSeconds(7205));

        Assert.Equal(last.Count, continued.Count);
        foreach (var r in continued)
        {
            var before = last[r.Der];
            foreach (var q in Registers)
            {
                if (before.TryGet(q, UnitOf(q), out var was))
                {
                    Assert.True(r.TryGet(q, UnitOf(q), out var now), $"{r.Der.Der}: {q} missing");
                    // At most a few seconds of energy further, never back.
                    Assert.InRange(now - was, 0, 50);
                }
            }

            if (before.TryGet(Quantity.StateOfCharge, Unit.Fraction, out var soc))
            {
                Assert.InRange(r.Get(Quantity.StateOfCharge, Unit.Fraction)!.Value, soc - 0.01, soc + 0.01);
            }
        }
    }
}
