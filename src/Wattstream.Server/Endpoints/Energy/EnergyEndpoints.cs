using System.Globalization;
using System.Text.Json;
using Wattstream.Energy.Balance;
using Wattstream.Energy.Periods;
using Wattstream.Energy.Summaries;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints.History;
using Wattstream.Server.Transports.Sse;
using Wattstream.Storage;
using Wattstream.Streaming.Access;
using Wattstream.Hub;
using Wattstream.Streaming.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Energy;

/// <summary>
/// What the energy means: each site's live summary (SSE, one site or every site in one stream) and energy per hour,
/// day or month (REST, JSON or CSV). Every answer holds only the sites the caller may see.
/// </summary>
public static class EnergyEndpoints
{
    public const string SummaryEvent = "summary";


    public static IEndpointRouteBuilder MapEnergy(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("energy");
        group.MapGet("/stream/sites/{site}/summary", OneSiteAsync)
            .WithSummary("SSE: the site's summary (`event: summary`) at connect and whenever it changes (at most once a second)")
            .WithDescription("`{org, site, timestamp, gridW, gridImportW, gridExportW, pvW, batteryW, batteryChargeW, batteryDischargeW, evW, homeW, selfSufficiency, selfConsumption, batterySoc, toHomeW, stale, staleSince, today}`; `toHomeW` gives each power-flow line + toward the home, `stale` is true while none of the site's DERs is connected (silent for `Status:StaleAfter`); `today` is today's energy period (see `/api/energy`), refreshed every 30 s. `?org=` when several orgs have the site.")
            .Produces<SiteSummaryDocument>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/stream/summaries", EverySiteAsync)
            .WithSummary("SSE: the summary of every site the caller may see, in one stream (a fleet view needs one connection, not one per site)")
            .Produces<SiteSummaryDocument>(StatusCodes.Status200OK, OpenApiSetup.EventStream);
        group.MapGet("/api/summaries", (HttpContext context, SummaryBoard board, ITelemetryAccess access) =>
            {
                var scope = access.Resolve(context);
                return JsonLists.Of("summaries", board.All().Where(s => scope.CanSeeSite(s.Org, s.Site)).Select(s => s.Json));
            })
            .WithSummary("The present summary of every site the caller may see")
            .Produces<SummaryListDocument>();
        group.MapGet("/api/energy", PeriodsAsync)
            .WithSummary("Energy per period of a site: `?site=site-1&period=hour|day|month&from=&to=` (ISO-8601 or epoch ms; default today), JSON or CSV (`?format=csv`)")
            .WithDescription("Each period: `{start, end, complete, gridImportKwh, gridExportKwh, pvKwh, batteryInKwh, batteryOutKwh, evInKwh, evOutKwh, homeKwh, selfSufficiency, selfConsumption, cost, earnings, net, currency, notes}`, from the devices' energy registers in history. `complete` is false for a period in progress or with a gap; `notes` say why.")
            .Produces<EnergyPeriodsDocument>()
            .ProducesCsv()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/api/balance", BalanceAsync)
            .WithSummary("A site's power balance over time, from history: `?site=site-1&from=&to=&step=` (ISO-8601 or epoch ms; default the last hour, `step` 1m)")
            .WithDescription("`{org, site, step, points}`; each point is a balance as in a summary (`timestamp` is the bucket's start; `gridW` … `batterySoc`, `toHomeW`), from the average power of each of the site's DERs in the bucket. A bucket that not every DER reported into is left out (the newest is often still filling). `?org=` when several orgs have the site; `from`, `to` and `step` as in `/api/history`.")
            .Produces<BalanceHistoryDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> OneSiteAsync(HttpContext context, string site, DerDirectory ders, ITelemetryAccess access, RegisteredFeed<SiteSummary> feed, SseStreams sse)
    {
        var scope = access.Resolve(context);
        if (!TryFindSite(site, context.Request.Query["org"].FirstOrDefault(), scope, ders, out var org, out var problem))
        {
            return problem!;
        }

        var opening = await feed.OpenAsync(SseStreams.FeedRequest(context, SubjectPattern.Parse($"orgs.{org}.sites.{site}.>"), scope), context.RequestAborted);
        return await sse.StreamFeedAsync(context, opening);
    }

    private static async Task<IResult> EverySiteAsync(HttpContext context, ITelemetryAccess access, RegisteredFeed<SiteSummary> feed, SseStreams sse) =>
        await sse.StreamFeedAsync(context, await feed.OpenAsync(SseStreams.FeedRequest(context, SubjectPattern.All, access.Resolve(context)), context.RequestAborted));

    private static async Task<IResult> PeriodsAsync(HttpContext context, DerDirectory ders, ITelemetryAccess access, SummaryService summaries, TimeProvider time, [Microsoft.AspNetCore.Mvc.FromServices] IReadingStore? store)
    {
        if (store is null)
        {
            return HistoryOff("Energy periods are computed from the registers in history");
        }

        var q = context.Request.Query;
        var scope = access.Resolve(context);
        if (!TryNamedSite(q, scope, ders, out var org, out var site, out var problem))
        {
            return problem!;
        }

        var kind = q["period"].FirstOrDefault() switch
        {
            null or "day" => EnergyPeriodKind.Day,
            "hour" => EnergyPeriodKind.Hour,
            "month" => EnergyPeriodKind.Month,
            var other => (EnergyPeriodKind?)null,
        };
        if (kind is null)
        {
            return Problems.BadRequest("invalid_period", "Malformed period", $"period is hour, day or month, not '{Excerpt.Of(q["period"].FirstOrDefault(), 64)}'.");
        }

        var now = time.GetUtcNow();
        var (zone, tariff) = summaries.SettingsOf(site);
        var today = EnergyLedger.PeriodStart(now, EnergyPeriodKind.Day, zone);
        if (!HistoryRequest.TryTime(q["from"].FirstOrDefault(), today, out var from) || !HistoryRequest.TryTime(q["to"].FirstOrDefault(), now, out var to))
        {
            return Problems.BadRequest("invalid_time", "Malformed from or to", "from and to are ISO-8601 times or epoch milliseconds.");
        }

        if (to <= from)
        {
            to = from.AddTicks(1); // the period holding `from`
        }

        var hours = (to - from).TotalHours;
        if (hours > MaxHours)
        {
            return Problems.BadRequest("range_too_large", "Range too large", $"At most {MaxHours / 24:0} days per request.");
        }

        var siteDers = ders.All(scope).Where(d => d.Address.Org == org && d.Address.Site == site).ToArray();
        var periods = await EnergyQueries.PeriodsAsync(store, siteDers, from, to, kind.Value, zone, tariff, now, context.RequestAborted);
        return CsvWriter.IsAsked(context) ? Csv(periods, tariff?.Currency) : Json(org, site, kind.Value, zone, tariff?.Currency, periods);
    }

    private const double MaxHours = 400 * 24;

    private static async Task<IResult> BalanceAsync(HttpContext context, DerDirectory ders, ITelemetryAccess access, TimeProvider time, [Microsoft.AspNetCore.Mvc.FromServices] IReadingStore? store)
    {
        if (store is null)
        {
            return HistoryOff("A balance over time is computed from the power in history");
        }

        var q = context.Request.Query;
        var scope = access.Resolve(context);
        if (!TryNamedSite(q, scope, ders, out var org, out var site, out var problem))
        {
            return problem!;
        }

        // The history query's own checks (times, range, step, number of buckets), on the site's power.
        var siteDers = ders.All(scope).Where(d => d.Address.Org == org && d.Address.Site == site).ToArray();
        var request = new HistoryRequest(null, site, q["from"].FirstOrDefault(), q["to"].FirstOrDefault(), q["step"].FirstOrDefault(), "w", "avg", null);
        if (!request.TryValidate([.. siteDers.Select(d => d.Address)], time.GetUtcNow(), out var query, out problem))
        {
            return problem!;
        }

        var series = await store.QueryAsync(query, context.RequestAborted);
        var balances = PowerHistory.Of(series, siteDers.ToDictionary(d => d.Address, d => d.Type));
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, EnergyJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("org", org);
            w.WriteString("site", site);
            w.WriteString("step", request.StepText);
            w.WriteStartArray("points");
            foreach (var b in balances)
            {
                w.WriteStartObject();
                EnergyJson.WriteBalance(w, b);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    private static IResult HistoryOff(string why) =>
        Problems.Problem(StatusCodes.Status503ServiceUnavailable, "history_off", "History is off", $"{why}; Storage:Enabled is false.");

    /// <summary>The site of <c>?site=</c> (and <c>?org=</c>) that the caller may see; 400 without one, as <see cref="TryFindSite"/> otherwise.</summary>
    private static bool TryNamedSite(IQueryCollection q, TelemetryScope scope, DerDirectory ders, out string org, out string site, out IResult? problem)
    {
        org = "";
        site = q["site"].FirstOrDefault() ?? "";
        if (site.Length == 0)
        {
            problem = Problems.BadRequest("missing_site", "Which site?", "Name the site: ?site=site-1 (and ?org= when several orgs have it).");
            return false;
        }

        return TryFindSite(site, q["org"].FirstOrDefault(), scope, ders, out org, out problem);
    }

    /// <summary>The org of a site the caller may see; 404 when it sees none, 400 when several orgs have it and none is named.</summary>
    private static bool TryFindSite(string site, string? org, TelemetryScope scope, DerDirectory ders, out string found, out IResult? problem)
    {
        found = "";
        if (!Problems.TryValidateId(site, "site id", out problem))
        {
            return false;
        }

        var orgs = ders.OrgsWithSite(site, org, scope);
        if (orgs.Length == 0)
        {
            problem = Problems.NotFound("site_not_found", "Unknown site", $"No site '{Excerpt.Of(site, 64)}'. GET /api/sites lists the sites.");
            return false;
        }

        if (orgs.Length > 1)
        {
            problem = Problems.BadRequest("ambiguous_site", "Several orgs have this site", $"Name the org: ?org={orgs[0]} (or {string.Join(", ", orgs.Skip(1))}).");
            return false;
        }

        found = orgs[0];
        return true;
    }

    private static IResult Json(string org, string site, EnergyPeriodKind kind, TimeZoneInfo zone, string? currency, IReadOnlyList<EnergyPeriod> periods)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, EnergyJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("org", org);
            w.WriteString("site", site);
            w.WriteString("period", kind.ToString().ToLowerInvariant());
            w.WriteString("timeZone", zone.Id);
            w.WriteString("currency", currency); // null when the site has no tariff

            w.WriteStartArray("periods");
            foreach (var p in periods)
            {
                EnergyJson.WritePeriod(w, p, currency);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    private static IResult Csv(IReadOnlyList<EnergyPeriod> periods, string? currency)
    {
        var csv = new CsvWriter("start", "end", "complete", "grid_import_kwh", "grid_export_kwh", "pv_kwh", "battery_in_kwh", "battery_out_kwh", "ev_in_kwh", "ev_out_kwh", "home_kwh", "self_sufficiency", "self_consumption", "cost", "earnings", "net", "currency", "notes");
        foreach (var p in periods)
        {
            csv.Text(p.Start.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture))
                .Text(p.End.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture))
                .Text(p.Complete ? "true" : "false");
            foreach (var n in (double?[])[p.GridImportKwh, p.GridExportKwh, p.PvKwh, p.BatteryInKwh, p.BatteryOutKwh, p.EvInKwh, p.EvOutKwh, p.HomeKwh, p.SelfSufficiency, p.SelfConsumption, p.Cost, p.Earnings, p.Net])
            {
                csv.Number(n);
            }

            csv.Text(currency).Text(string.Join("; ", p.Notes)).EndRow();
        }

        return csv.ToResult();
    }
}
