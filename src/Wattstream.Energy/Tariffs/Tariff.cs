using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Wattstream.Energy.Tariffs;

/// <summary>
/// A site's prices (<c>Sites:{site}:Tariff</c>): a flat import price per kWh, or a weekly time-of-use schedule, and a
/// feed-in price; all in <see cref="Currency"/>.
/// </summary>
public sealed class Tariff
{
    [Required, RegularExpression("^[A-Z]{3}$")]
    public string Currency { get; set; } = "EUR";

    /// <summary>Price per imported kWh outside every schedule entry.</summary>
    [Range(0, 100)]
    public double Import { get; set; }

    /// <summary>Paid per exported kWh.</summary>
    [Range(0, 100)]
    public double FeedIn { get; set; }

    /// <summary>Time-of-use prices: the first entry covering a local hour sets its import price.</summary>
    public List<TariffPeriod> Schedule { get; set; } = [];

    /// <summary>The import price for the hour starting at <paramref name="localHour"/> (the site's local time).</summary>
    public double ImportPriceAt(DateTime localHour)
    {
        foreach (var entry in Schedule)
        {
            if (entry.Covers(localHour))
            {
                return entry.Import;
            }
        }

        return Import;
    }

    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Schedule.Count; i++)
        {
            if (Schedule[i].Problem() is { } problem)
            {
                yield return $"Schedule:{i}: {problem}";
            }
        }
    }
}

/// <summary>One time-of-use entry: <c>{"Days":"Mon-Fri","From":"07:00","To":"20:00","Import":0.32}</c>.</summary>
public sealed class TariffPeriod
{
    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary>"Mon-Fri", "Sat,Sun", "Mon"; empty for every day.</summary>
    public string? Days { get; set; }

    /// <summary>Local time of day, whole hours ("07:00"); To may be "24:00".</summary>
    public string From { get; set; } = "00:00";

    public string To { get; set; } = "24:00";

    [Range(0, 100)]
    public double Import { get; set; }

    public bool Covers(DateTime localHour) =>
        DaySet() is { } days && days.Contains(localHour.DayOfWeek) && localHour.Hour >= Hour(From) && localHour.Hour < Hour(To);

    internal string? Problem()
    {
        if (DaySet() is null)
        {
            return $"Days '{Days}' is not like \"Mon-Fri\" or \"Sat,Sun\".";
        }

        if (Hour(From) is < 0 or > 23 || Hour(To) is < 1 or > 24 || Hour(From) >= Hour(To))
        {
            return $"From '{From}' and To '{To}' must be whole hours with From before To (\"07:00\" to \"20:00\").";
        }

        return null;
    }

    private static int Hour(string text) =>
        text.Length == 5 && text[2] == ':' && text[3..] == "00" && int.TryParse(text[..2], NumberStyles.None, CultureInfo.InvariantCulture, out var h) ? h : -1;

    private HashSet<DayOfWeek>? DaySet()
    {
        if (string.IsNullOrWhiteSpace(Days))
        {
            return [.. Enum.GetValues<DayOfWeek>()];
        }

        var set = new HashSet<DayOfWeek>();
        foreach (var part in Days.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            var from = Array.IndexOf(DayNames, range[0]);
            var to = range.Length == 2 ? Array.IndexOf(DayNames, range[1]) : from;
            if (from < 0 || to < 0 || range.Length > 2)
            {
                return null;
            }

            for (var d = from; ; d = (d + 1) % 7)
            {
                set.Add((DayOfWeek)d);
                if (d == to)
                {
                    break;
                }
            }
        }

        return set;
    }
}
