using Wattstream.Energy.Tariffs;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Periods;

/// <summary>One DER's hourly values: the last reading of each hour's energy-in and energy-out registers (Wh), and the hour's average power (W).</summary>
public sealed record RegisterSeries(DerType Type, IReadOnlyList<RegisterPoint> Points);

/// <param name="Hour">The hour's start, epoch ms (UTC-aligned).</param>
/// <param name="FirstInWh">The hour's first energy-in value: with no earlier value to count from, the hour counts from it.</param>
public sealed record RegisterPoint(long Hour, double? InWh, double? OutWh, double? AverageW, double? FirstInWh = null, double? FirstOutWh = null);

/// <summary>Energy of one hour across a site's DERs, in Wh, with what is known about its quality.</summary>
public sealed class HourEnergy(long start)
{
    public long Start { get; } = start;

    public double GridImport { get; set; }

    public double GridExport { get; set; }

    public double Pv { get; set; }

    public double BatteryIn { get; set; }

    public double BatteryOut { get; set; }

    public double EvIn { get; set; }

    public double EvOut { get; set; }

    /// <summary>Home consumption: what came in (grid, PV, storage discharging) less what went out (export, storage charging).</summary>
    public double Home => Math.Max(0, GridImport + Pv + BatteryOut + EvOut - GridExport - BatteryIn - EvIn);

    /// <summary>Some DER has no value for the hour (no reading, or no earlier reading to count from).</summary>
    public bool Missing { get; set; }

    /// <summary>A DER's energy across a gap of several hours was spread evenly over them.</summary>
    public bool Estimated { get; set; }

    /// <summary>A register went backwards (a device reset): what it counted since is taken as the hour's energy.</summary>
    public bool Reset { get; set; }

    /// <summary>A DER without energy registers: its energy is its average power × the hour.</summary>
    public bool Integrated { get; set; }
}

/// <summary>What a period kind is.</summary>
public enum EnergyPeriodKind
{
    Hour,
    Day,
    Month,
}

/// <summary>A period's energy (kWh), ratios, cost and quality.</summary>
public sealed record EnergyPeriod(
    DateTimeOffset Start,
    DateTimeOffset End,
    bool Complete,
    double GridImportKwh,
    double GridExportKwh,
    double PvKwh,
    double BatteryInKwh,
    double BatteryOutKwh,
    double EvInKwh,
    double EvOutKwh,
    double HomeKwh,
    double? SelfSufficiency,
    double? SelfConsumption,
    double? Cost,
    double? Earnings,
    double? Net,
    IReadOnlyList<string> Notes);

/// <summary>
/// The period arithmetic: hourly energy from register readings (never integrating power where a register exists),
/// register resets, gaps, and sums into local days and months with ratios and cost.
/// </summary>
public static class EnergyLedger
{
    public const long HourMs = 3_600_000;

    public const string NoteInProgress = "in progress";
    public const string NoteMissing = "no data for part of the period";
    public const string NoteEstimated = "estimated across a gap";
    public const string NoteReset = "a register was reset";
    public const string NoteIntegrated = "integrated from power (a DER without energy registers)";

    /// <summary>
    /// The hours from <paramref name="fromHour"/> to <paramref name="toHour"/> (exclusive). Each DER's energy in hour H
    /// is its register's last value in H less its last value before H; points before <paramref name="fromHour"/> serve
    /// as the baseline.
    /// </summary>
    public static HourEnergy[] Hours(IReadOnlyList<RegisterSeries> ders, long fromHour, long toHour)
    {
        ArgumentNullException.ThrowIfNull(ders);
        var count = (int)Math.Max(0, (toHour - fromHour) / HourMs);
        var hours = new HourEnergy[count];
        for (var i = 0; i < count; i++)
        {
            hours[i] = new HourEnergy(fromHour + (i * HourMs));
        }

        foreach (var der in ders)
        {
            var points = der.Points.OrderBy(p => p.Hour).ToArray();
            var covered = new bool[count];
            var hasRegister = points.Any(p => p.InWh is not null || p.OutWh is not null);
            if (hasRegister)
            {
                Count(der.Type, points, p => p.InWh, p => p.FirstInWh, inward: true, hours, covered, fromHour);
                Count(der.Type, points, p => p.OutWh, p => p.FirstOutWh, inward: false, hours, covered, fromHour);
            }
            else
            {
                foreach (var p in points)
                {
                    var i = Index(p.Hour, fromHour, count);
                    if (i >= 0 && p.AverageW is { } w)
                    {
                        Add(der.Type, hours[i], w >= 0, Math.Abs(w)); // an hour at an average power: W × 1 h = Wh
                        hours[i].Integrated = true;
                        covered[i] = true;
                    }
                }
            }

            for (var i = 0; i < count; i++)
            {
                hours[i].Missing |= !covered[i];
            }
        }

        return hours;
    }

    // One register of one DER: consecutive hourly last values give each hour's energy.
    private static void Count(DerType type, RegisterPoint[] points, Func<RegisterPoint, double?> register, Func<RegisterPoint, double?> first, bool inward, HourEnergy[] hours, bool[] covered, long fromHour)
    {
        var count = hours.Length;
        (long Hour, double Wh)? previous = null;
        foreach (var p in points)
        {
            if (register(p) is not { } wh)
            {
                continue;
            }

            if (previous is null && first(p) is { } start && wh >= start && Index(p.Hour, fromHour, count) is var at and >= 0)
            {
                // Nothing before this hour to count from (the device or the hub is new): the hour counts from its own
                // first reading, and stays marked as missing a part.
                Add(type, hours[at], inward, wh - start);
            }

            if (previous is { } prev)
            {
                var delta = wh - prev.Wh;
                var reset = delta < 0;
                if (reset)
                {
                    delta = wh; // the counter started again from zero within the span
                }

                var span = (int)((p.Hour - prev.Hour) / HourMs);
                for (var k = 1; k <= span; k++)
                {
                    var i = Index(prev.Hour + (k * HourMs), fromHour, count);
                    if (i < 0)
                    {
                        continue;
                    }

                    Add(type, hours[i], inward, delta / span);
                    covered[i] = true;
                    hours[i].Estimated |= span > 1;
                    hours[i].Reset |= reset;
                }
            }

            previous = (p.Hour, wh);
        }
    }

    private static int Index(long hour, long fromHour, int count)
    {
        var i = (hour - fromHour) / HourMs;
        return i >= 0 && i < count ? (int)i : -1;
    }

    private static void Add(DerType type, HourEnergy hour, bool inward, double wh)
    {
        switch (type)
        {
            case DerType.Meter when inward:
                hour.GridImport += wh;
                break;
            case DerType.Meter:
                hour.GridExport += wh;
                break;
            case DerType.Pv when !inward:
                hour.Pv += wh;
                break;
            case DerType.Battery when inward:
                hour.BatteryIn += wh;
                break;
            case DerType.Battery:
                hour.BatteryOut += wh;
                break;
            case DerType.V2xCharger when inward:
                hour.EvIn += wh;
                break;
            case DerType.V2xCharger:
                hour.EvOut += wh;
                break;
        }
    }

    /// <summary>Sums hours into the periods of <paramref name="kind"/> in <paramref name="zone"/>, with ratios, cost and notes.</summary>
    public static IReadOnlyList<EnergyPeriod> Periods(IReadOnlyList<HourEnergy> hours, EnergyPeriodKind kind, TimeZoneInfo zone, Tariff? tariff, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hours);
        ArgumentNullException.ThrowIfNull(zone);
        var result = new List<EnergyPeriod>();
        foreach (var group in hours.GroupBy(h => PeriodStart(DateTimeOffset.FromUnixTimeMilliseconds(h.Start), kind, zone)))
        {
            var start = group.Key;
            var end = Next(start, kind, zone);
            var members = group.ToArray();
            var expected = (int)((end - start).TotalHours);
            var inProgress = end > now;
            var notes = new List<string>();
            if (inProgress)
            {
                notes.Add(NoteInProgress);
            }

            // Hours the period should have but the range did not reach count as missing, like hours without data.
            var nowMs = now.ToUnixTimeMilliseconds();
            var begun = (int)Math.Min(expected, Math.Ceiling((Math.Min(nowMs, end.ToUnixTimeMilliseconds()) - start.ToUnixTimeMilliseconds()) / (double)HourMs));
            if (members.Any(h => h.Missing && h.Start + HourMs <= nowMs) || members.Length < begun)
            {
                notes.Add(NoteMissing);
            }

            if (members.Any(h => h.Estimated))
            {
                notes.Add(NoteEstimated);
            }

            if (members.Any(h => h.Reset))
            {
                notes.Add(NoteReset);
            }

            if (members.Any(h => h.Integrated))
            {
                notes.Add(NoteIntegrated);
            }

            double import = members.Sum(h => h.GridImport), export = members.Sum(h => h.GridExport), pv = members.Sum(h => h.Pv);
            double home = members.Sum(h => h.Home);
            double? cost = null, earnings = null;
            if (tariff is not null)
            {
                cost = members.Sum(h => h.GridImport / 1000 * tariff.ImportPriceAt(TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(h.Start), zone).DateTime));
                earnings = export / 1000 * tariff.FeedIn;
            }

            result.Add(new EnergyPeriod(
                start,
                end,
                Complete: !inProgress && members.Length == expected && !members.Any(h => h.Missing || h.Estimated || h.Integrated),
                Kwh(import),
                Kwh(export),
                Kwh(pv),
                Kwh(members.Sum(h => h.BatteryIn)),
                Kwh(members.Sum(h => h.BatteryOut)),
                Kwh(members.Sum(h => h.EvIn)),
                Kwh(members.Sum(h => h.EvOut)),
                Kwh(home),
                home > 0 ? Math.Round(Math.Clamp(1 - (import / home), 0, 1), 4) : null,
                pv > 0 ? Math.Round(Math.Clamp(1 - (export / pv), 0, 1), 4) : null,
                cost is { } c ? Math.Round(c, 4) : null,
                earnings is { } e ? Math.Round(e, 4) : null,
                cost is { } c2 && earnings is { } e2 ? Math.Round(c2 - e2, 4) : null,
                notes));
        }

        return result;
    }

    /// <summary>The start of the period holding <paramref name="time"/>, in <paramref name="zone"/>.</summary>
    public static DateTimeOffset PeriodStart(DateTimeOffset time, EnergyPeriodKind kind, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(time, zone);
        var start = kind switch
        {
            EnergyPeriodKind.Hour => new DateTime(local.Year, local.Month, local.Day, local.Hour, 0, 0, DateTimeKind.Unspecified),
            EnergyPeriodKind.Day => local.Date,
            _ => new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified),
        };
        return kind == EnergyPeriodKind.Hour ? new DateTimeOffset(start, local.Offset) : new DateTimeOffset(start, zone.GetUtcOffset(start));
    }

    /// <summary>The start of the next period.</summary>
    public static DateTimeOffset Next(DateTimeOffset start, EnergyPeriodKind kind, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (kind == EnergyPeriodKind.Hour)
        {
            return start.AddHours(1);
        }

        var local = start.DateTime;
        var next = kind == EnergyPeriodKind.Day ? local.AddDays(1) : local.AddMonths(1);
        return new DateTimeOffset(next, zone.GetUtcOffset(next));
    }

    private static double Kwh(double wh) => Math.Round(wh / 1000, 4);
}
