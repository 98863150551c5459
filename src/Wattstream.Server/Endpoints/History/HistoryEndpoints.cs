using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.History;

/// <summary>History queries, bucketed in the database, as JSON or CSV; and the store's status.</summary>
public static class HistoryEndpoints
{
    public const long MaxPoints = 100_000;
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    public static IEndpointRouteBuilder MapHistory(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/history", QueryAsync)
            .WithTags("history")
            .WithSummary("Time-bucketed history of one DER or a whole site, as JSON or CSV")
            .WithDescription("`?der=62124022441` (DER id or subject, repeatable) or `?site=site-1`; `from`, `to` (ISO-8601 or epoch ms; default the last hour); `step` (e.g. `10s`, `1m`, `1h`, `1d`; default `1m`); `fields` (w, l1_v, l2_v, l3_v, l1_a, l2_a, l3_a, l1_w, l2_w, l3_w, import_wh, export_wh, soc; default w); `agg` (avg, min, max, last). CSV with `Accept: text/csv` or `?format=csv`.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/storage", (IServiceProvider services) => services.GetService<HistoryWriter>() is { } writer
                ? Results.Ok(writer.Status)
                : Problems.Problem(StatusCodes.Status503ServiceUnavailable, "history_off", "History is off", "Storage:Enabled is false."))
            .WithTags("history")
            .WithSummary("The store, the writer's queue depth and lag, and its counters");
        return app;
    }

    private static async Task<IResult> QueryAsync(HttpContext context, DerDirectory directory, ITelemetryAccess access, IServiceProvider services, TimeProvider time)
    {
        if (services.GetService<IReadingStore>() is not { } store)
        {
            return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "history_off", "History is off", "Storage:Enabled is false.");
        }

        var q = context.Request.Query;
        var scope = access.Resolve(context);
        var known = directory.All(scope).Select(d => d.Address).ToArray();
        var ders = new List<DerAddress>();
        foreach (var der in q["der"].Where(d => !string.IsNullOrEmpty(d)))
        {
            var found = known.Where(k => k.Der == der || k.Subject == der).ToArray();
            if (found.Length == 0)
            {
                return Problems.NotFound("der_not_found", "Unknown DER", $"No DER '{der}'. GET /api/sites lists them.");
            }

            ders.AddRange(found);
        }

        if (q["site"].FirstOrDefault() is { Length: > 0 } site)
        {
            var found = known.Where(k => k.Site == site).ToArray();
            if (found.Length == 0)
            {
                return Problems.NotFound("site_not_found", "Unknown site", $"No site '{site}'.");
            }

            ders.AddRange(found);
        }

        if (ders.Count == 0)
        {
            return Problems.BadRequest("missing_der", "Which history?", "Give ?der= (a DER id or subject) or ?site=.");
        }

        var now = time.GetUtcNow();
        if (!TryTime(q["to"], now, out var to) || !TryTime(q["from"], to.AddHours(-1), out var from))
        {
            return Problems.BadRequest("invalid_time", "Malformed time", "from and to are ISO-8601 times (2026-01-01T00:00:00Z) or Unix epoch milliseconds.");
        }

        if (from >= to)
        {
            return Problems.BadRequest("invalid_range", "Empty range", "from must be before to.");
        }

        if (to - from > MaxRange)
        {
            return Problems.BadRequest("range_too_large", "Range too large", $"At most {MaxRange.TotalDays:0} days per query.");
        }

        if (!TryStep(q["step"].FirstOrDefault() ?? "1m", out var step))
        {
            return Problems.BadRequest("invalid_step", "Malformed step", "step is a number and a unit: s, m, h or d (e.g. 10s, 1m, 15m, 1h, 1d).");
        }

        var points = (to - from).Ticks / step.Ticks;
        if (points > MaxPoints)
        {
            return Problems.BadRequest("too_many_points", "Too many points", $"{points} buckets per series; at most {MaxPoints}: use a larger step or a shorter range.");
        }

        var fields = new List<HistoryField>();
        foreach (var name in (q["fields"].FirstOrDefault() ?? "w").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!HistoryFields.TryParse(name, out var field))
            {
                return Problems.BadRequest("invalid_field", "Unknown field", $"'{name}' is not a history field; known: {string.Join(", ", HistoryFields.All.Select(f => f.Column()))}.");
            }

            fields.Add(field);
        }

        if (!Enum.TryParse<Aggregate>(q["agg"].FirstOrDefault() ?? "avg", ignoreCase: true, out var agg) || !Enum.IsDefined(agg) || int.TryParse(q["agg"], out _))
        {
            return Problems.BadRequest("invalid_agg", "Unknown aggregate", "agg is avg, min, max or last.");
        }

        var query = new HistoryQuery(ders.Distinct().ToArray(), from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), (long)step.TotalMilliseconds, fields, agg);
        var series = await store.QueryAsync(query, context.RequestAborted);
        var csv = q["format"] == "csv" || context.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true);
        return csv ? Csv(series, fields) : Json(query, series, q["step"].FirstOrDefault() ?? "1m");
    }

    private static IResult Csv(IReadOnlyList<HistorySeries> series, List<HistoryField> fields)
    {
        var csv = new StringBuilder();
        csv.Append("time,subject,der");
        foreach (var f in fields)
        {
            csv.Append(',').Append(f.Column());
        }

        csv.Append('\n');
        foreach (var s in series)
        {
            foreach (var p in s.Points)
            {
                csv.Append(Iso(p.Time)).Append(',').Append(s.Der.Subject).Append(',').Append(s.Der.Der);
                foreach (var v in p.Values)
                {
                    csv.Append(',');
                    if (v is { } value)
                    {
                        csv.Append(value.ToString("R", CultureInfo.InvariantCulture));
                    }
                }

                csv.Append('\n');
            }
        }

        return Results.Text(csv.ToString(), "text/csv; charset=utf-8");
    }

    private static IResult Json(HistoryQuery query, IReadOnlyList<HistorySeries> series, string step)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("from", Iso(query.From));
            w.WriteString("to", Iso(query.To));
            w.WriteString("step", step);
            w.WriteString("agg", query.Aggregate.ToString().ToLowerInvariant());
            w.WriteStartArray("fields");
            foreach (var f in query.Fields)
            {
                w.WriteStringValue(f.Column());
            }

            w.WriteEndArray();
            w.WriteStartArray("series");
            foreach (var s in series)
            {
                w.WriteStartObject();
                w.WriteString("subject", s.Der.Subject);
                w.WriteString("org", s.Der.Org);
                w.WriteString("site", s.Der.Site);
                w.WriteString("device", s.Der.Device);
                w.WriteString("der", s.Der.Der);
                w.WriteStartArray("points");
                foreach (var p in s.Points)
                {
                    w.WriteStartObject();
                    w.WriteString("time", Iso(p.Time));
                    for (var i = 0; i < query.Fields.Count; i++)
                    {
                        if (p.Values[i] is { } v)
                        {
                            w.WriteNumber(query.Fields[i].Column(), v);
                        }
                        else
                        {
                            w.WriteNull(query.Fields[i].Column());
                        }
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static bool TryTime(Microsoft.Extensions.Primitives.StringValues raw, DateTimeOffset fallback, out DateTimeOffset time)
    {
        var text = raw.FirstOrDefault();
        time = fallback;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time);
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
