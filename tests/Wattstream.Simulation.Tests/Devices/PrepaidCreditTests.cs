using System.ComponentModel.DataAnnotations;
using Wattstream.Simulation.Devices;
using Wattstream.Telemetry;

namespace Wattstream.Simulation.Tests;

public class PrepaidCreditTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 14, 0, 0, 0, TimeSpan.FromHours(1)); // a winter Wednesday

    private static SimulationOptions Options(double topUp = 250, double threshold = 25) =>
        new() { Seed = 5, TimeZone = "Europe/Zurich", PrepaidTopUp = topUp, PrepaidThreshold = threshold };

    private static double? Credit(Reading r) => r.Get(Quantity.RemainingCredit, Unit.None);

    private static IEnumerable<IReadOnlyList<Reading>> Run(SiteSimulator simulator, TimeSpan step, int steps)
    {
        for (var i = 1; i <= steps; i++)
        {
            yield return simulator.Step(Start + (step * i));
        }
    }

    [Fact]
    public void Only_the_prepaid_sites_meter_reports_a_credit_and_it_starts_at_the_top_up_amount()
    {
        var simulator = new SiteSimulator(Options(), Start, (_, _) => 0.3);

        var readings = simulator.Step(Start);

        var withCredit = readings.Where(r => Credit(r) is not null).ToArray();
        var meter = Assert.Single(withCredit);
        Assert.Equal(DerType.Meter, meter.Type);
        Assert.Equal("62124022443", meter.Der.Der); // site 3, the HES seed's meter
        Assert.Equal(250, Credit(meter));
        Assert.Null(simulator.Sites[0].Credit);
    }

    [Fact]
    public void The_credit_falls_by_the_imported_energy_at_the_price_of_the_sites_tariff_at_the_time()
    {
        var zurich = TimeZoneInfo.FindSystemTimeZoneById("Europe/Zurich");
        double Price(DateTimeOffset time) => TimeZoneInfo.ConvertTime(time, zurich).Hour is >= 7 and < 20 ? 0.34 : 0.26;
        var asked = new HashSet<string>();
        var simulator = new SiteSimulator(Options(), Start, (site, time) =>
        {
            asked.Add(site);
            return Price(time);
        });
        var site = simulator.Sites[2];
        var lastCredit = site.Credit!.Credit;
        var lastImport = site.GridMeter.ImportWh;
        var falls = 0;

        for (var i = 1; i <= 24 * 60; i++)
        {
            var now = Start + TimeSpan.FromMinutes(i);
            simulator.Step(now);
            var imported = site.GridMeter.ImportWh - lastImport;
            Assert.Equal(lastCredit - (imported / 1000 * Price(now)), site.Credit.Credit, 9);
            if (imported > 0)
            {
                falls++;
            }

            lastCredit = site.Credit.Credit;
            lastImport = site.GridMeter.ImportWh;
        }

        Assert.Equal(["site-3"], asked); // only the prepaid site is charged
        Assert.True(falls > 100, $"{falls} steps with import");
        Assert.Equal(0, site.Credit.TopUps);
        Assert.True(site.Credit.Credit < 250);
    }

    [Fact]
    public void The_drop_equals_the_cost_of_the_import_to_the_bit_at_a_flat_price()
    {
        var simulator = new SiteSimulator(Options(), Start, (_, _) => 0.25);
        var site = simulator.Sites[2];
        var import0 = site.GridMeter.ImportWh;

        var last = Run(simulator, TimeSpan.FromMinutes(5), 12 * 24).Last();

        var imported = site.GridMeter.ImportWh - import0;
        Assert.True(imported > 1000, $"{imported} Wh imported");
        Assert.Equal(250 - (imported / 1000 * 0.25), site.Credit!.Credit, 9);
        var reported = Credit(last.Single(r => r.Der == site.Meter))!.Value;
        Assert.Equal(Math.Round(site.Credit.Credit, 2), reported); // reported to the cent
    }

    [Fact]
    public void A_credit_below_the_threshold_is_topped_up_to_the_set_amount()
    {
        var simulator = new SiteSimulator(Options(topUp: 5, threshold: 4), Start, (_, _) => 2);
        var site = simulator.Sites[2];
        var credits = new List<double>();

        foreach (var step in Run(simulator, TimeSpan.FromMinutes(10), 6 * 24))
        {
            credits.Add(Credit(step.Single(r => r.Der == site.Meter))!.Value);
        }

        Assert.True(site.Credit!.TopUps >= 2, $"{site.Credit.TopUps} top-ups");
        Assert.All(credits, c => Assert.InRange(c, 4, 5));
        var rises = credits.Zip(credits.Skip(1)).Where(p => p.Second > p.First).ToArray();
        Assert.NotEmpty(rises);
        Assert.All(rises, p => Assert.Equal(5, p.Second)); // a rise is a top-up, always to the set amount
        Assert.Contains(credits.Zip(credits.Skip(1)), p => p.Second < p.First); // and between top-ups it falls
    }

    [Fact]
    public void The_same_seed_gives_the_same_credits()
    {
        double[] Credits(int seed) => Run(new SiteSimulator(new SimulationOptions { Seed = seed, TimeZone = "Europe/Zurich", PrepaidTopUp = 3, PrepaidThreshold = 2 }, Start, (_, _) => 1), TimeSpan.FromMinutes(10), 300)
            .Select(step => step.Select(Credit).Single(c => c is not null)!.Value).ToArray();

        Assert.Equal(Credits(8), Credits(8));
        Assert.NotEqual(Credits(8), Credits(9));
    }

    [Fact]
    public void Without_a_price_the_credit_stays()
    {
        var simulator = new SiteSimulator(Options(), Start);

        var last = Run(simulator, TimeSpan.FromHours(1), 48).Last();

        Assert.Equal(250, Credit(last.Single(r => r.Der == simulator.Sites[2].Meter)));
    }

    [Fact]
    public void A_threshold_not_below_the_top_up_amount_is_refused()
    {
        var options = Options(topUp: 10, threshold: 10);

        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.MemberNames.Contains(nameof(SimulationOptions.PrepaidThreshold)));
    }

    [Fact]
    public void Charging_below_the_threshold_tops_up_at_once()
    {
        var credit = new PrepaidCredit(topUpTo: 10, threshold: 2);

        credit.Charge(importedWh: 20_000, pricePerKwh: 0.4); // 8.00 spent: 2.00 left, not below
        Assert.Equal(2, credit.Credit, 9);
        credit.Charge(importedWh: 1, pricePerKwh: 0.4);

        Assert.Equal(10, credit.Credit);
        Assert.Equal(1, credit.TopUps);
    }
}
