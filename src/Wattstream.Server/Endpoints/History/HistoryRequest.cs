using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.History;

/// <summary>The query string of <c>GET /api/history</c>, as bound; <see cref="TryValidate"/> turns it into a store query.</summary>
internal sealed record HistoryRequest(
    [property: FromQuery(Name = "der")] string[]? Der,
    [property: FromQuery(Name = "site")] string? Site,
    [property: FromQuery(Name = "from")] string? From,
    [property: FromQuery(Name = "to")] string? To,
    [property: FromQuery(Name = "step")] string? Step,
    [property: FromQuery(Name = "fields")] string? Fields,
    [property: FromQuery(Name = "agg")] string? Agg,
    [property: FromQuery(Name = "format")] string? Format)
{
    public const long MaxPoints = 100_000;
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    public string StepText => Step ?? "1m";

    /// <summary>Checks every parameter against the DERs the caller may see; a problem names the first bad one.</summary>
    public bool TryValidate(IReadOnlyList<DerAddress> known, DateTimeOffset now, out HistoryQuery query, out IResult? problem)
    {
        query = null!;
        problem = null;
        var ders = new List<DerAddress>();
        foreach (var der in (Der ?? []).Where(d => !string.IsNullOrEmpty(d)))
        {
            var found = known.Where(k => k.Der == der || k.Subject == der).ToArray();
            if (found.Length == 0)
            {
                problem = Problems.NotFound("der_not_found", "Unknown DER", $"No DER '{der}'. GET /api/sites lists them.");
                return false;
            }

            ders.AddRange(found);
        }

        if (Site is { Length: > 0 } site)
        {
            var found = known.Where(k => k.Site == site).ToArray();
            if (found.Length == 0)
            {
                problem = Problems.NotFound("site_not_found", "Unknown site", $"No site '{site}'.");
                return false;
            }

            ders.AddRange(found);
        }

        if (ders.Count == 0)
        {
            problem = Problems.BadRequest("missing_der", "Which history?", "Give ?der= (a DER id or subject) or ?site=.");
            return false;
        }

        if (!TryTime(To, now, out var to) || !TryTime(From, to.AddHours(-1), out var from))
        {
            problem = Problems.BadRequest("invalid_time", "Malformed time", "from and to are ISO-8601 times (2026-01-01T00:00:00Z) or Unix epoch milliseconds, from 1970 to 9999.");
            return false;
        }

        if (from >= to)
        {
            problem = Problems.BadRequest("invalid_range", "Empty range", "from must be before to.");
            return false;
        }

        if (to - from > MaxRange)
        {
            problem = Problems.BadRequest("range_too_large", "Range too large", $"At most {MaxRange.TotalDays:0} days per query.");
            return false;
        }

        if (!TryStep(StepText, out var step))
        {
            problem = Problems.BadRequest("invalid_step", "Malformed step", "step is a number and a unit: s, m, h or d (e.g. 10s, 1m, 15m, 1h, 1d).");
            return false;
        }

        var points = (to - from).Ticks / step.Ticks;
        if (points > MaxPoints)
        {
            problem = Problems.BadRequest("too_many_points", "Too many points", $"{points} buckets per series; at most {MaxPoints}: use a larger step or a shorter range.");
            return false;
        }

        var fields = new List<HistoryField>();
        foreach (var name in (Fields ?? "w").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!HistoryFields.TryParse(name, out var field))
            {
                problem = Problems.BadRequest("invalid_field", "Unknown field", $"'{name}' is not a history field; known: {string.Join(", ", HistoryFields.All.Select(f => f.Column()))}.");
                return false;
            }

            fields.Add(field);
        }

        if (fields.Count == 0)
        {
            problem = Problems.BadRequest("invalid_field", "No field", $"fields lists at least one of {string.Join(", ", HistoryFields.All.Select(f => f.Column()))}.");
            return false;
        }

        if (!Enum.TryParse<Aggregate>(Agg ?? "avg", ignoreCase: true, out var agg) || !Enum.IsDefined(agg) || int.TryParse(Agg, out _))
        {
            problem = Problems.BadRequest("invalid_agg", "Unknown aggregate", "agg is avg, min, max or last.");
            return false;
        }

        query = new HistoryQuery(ders.Distinct().ToArray(), from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), (long)step.TotalMilliseconds, fields, agg);
        return true;
    }

    /// <summary>Times a query may name: from the Unix epoch to the end of year 9999 (less an hour, so a default "from" exists).</summary>
    private static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;
    private static readonly DateTimeOffset Latest = new(9999, 12, 31, 22, 0, 0, TimeSpan.Zero);

    internal static bool TryTime(string? text, DateTimeOffset fallback, out DateTimeOffset time)
    {
        time = fallback < Earliest ? Earliest : fallback;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            if (ms > Latest.ToUnixTimeMilliseconds())
            {
                return false;
            }

            time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time) && time >= Earliest && time <= Latest;
    }

    internal static bool TryStep(string text, out TimeSpan step)
    {
        step = default;
        if (text.Length < 2 || !long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > 100_000)
        {
            return false;
        }

        step = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => default,
        };
        return step > TimeSpan.Zero;
    }
}
