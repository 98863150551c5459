using System.Globalization;
using System.Text;
using System.Text.Json;
using Wattstream.Alerts;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Webhooks;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints.History;
using Wattstream.Server.Transports.Sse;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Alerts;

/// <summary>
/// Alerts over REST and SSE: the list (JSON or CSV), those firing now, the live stream (resumable), reports from
/// clients in the seed's shape, and webhook deliveries. Every answer is filtered by the caller's orgs and sites.
/// </summary>
public static class AlertEndpoints
{
    public const string AlertEvent = "alert";

    /// <summary>The SSE framing of alerts: one frame per alert, shared by every SSE client.</summary>
    private static readonly object SseFraming = new();

    public static IEndpointRouteBuilder MapAlerts(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/alerts").WithTags("alerts");
        group.MapGet("", ListAsync)
            .WithSummary("Alerts, newest first: `?state=firing|resolved`, `site`, `type`, `from`, `to` (ISO-8601 or epoch ms), `limit` (≤ 1000), `before` (an id, to page back); CSV with `Accept: text/csv` or `?format=csv`")
            .WithDescription("Each alert: `{id, rule, type, state, message, timestamp, org, site, device, der, subject, value, threshold, data}`; `data` is the reading that triggered it (Novacore's reading JSON), or what a client reported.")
            .Produces<AlertListDocument>()
            .ProducesCsv()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/active", Active)
            .WithSummary("Alerts firing now (announced and not resolved), oldest first")
            .Produces<AlertListDocument>();
        group.MapGet("/stream", StreamAsync)
            .WithSummary("SSE: `event: alert` for every new alert the caller may see; resumable with `Last-Event-ID` (alert ids)")
            .WithDescription("Optional filters as for the list: `site`, `type`, `state`.")
            .Produces<AlertDocument>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("", ReportAsync)
            .WithSummary("Report an alert in the seed's shape `{type, message, timestamp, data}` (what its browser-side PowerAlert posts); say where with `site` (and `org`) or `der`, in the body or the query")
            .Accepts<JsonElement>("application/json")
            .Produces<AlertDocument>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireAuthorization(AuthSetup.PublishPolicy)
            .DisableAntiforgery();
        // The seed's PowerAlert posts to a relative /api/alerts: made relative to a device base URL (/meters/{meter}) it
        // lands here, and the meter says where.
        app.MapPost("/meters/{meter}/api/alerts", ReportForMeterAsync)
            .WithTags("alerts")
            .WithSummary("Report an alert about a meter in the seed's shape `{type, message, timestamp, data}`, under the meter's device base URL (what the seed's PowerAlert posts to `/api/alerts` when its base is `/meters/{meter}`); the org and site are the meter's")
            .Accepts<JsonElement>("application/json")
            .Produces<AlertDocument>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireAuthorization(AuthSetup.PublishPolicy)
            .DisableAntiforgery();
        group.MapGet("/deliveries", (WebhookDispatcher webhooks) => TypedResults.Ok(new DeliveriesResponse(webhooks.Statuses(), webhooks.DeadLetters())))
            .WithSummary("Webhooks: each one's counters (URL without query or credentials) and the dead-letter list of deliveries that failed every attempt")
            .RequireAuthorization(AuthSetup.AdminPolicy);
        group.MapGet("/stats", Stats)
            .WithSummary("Evaluation: rules in force, alerts firing, notifications made and suppressed by the repeat window, readings skipped, alerts not raised for being over an org's budget, and each org's share; an org admin gets its orgs' share only")
            .WithDescription("An org admin gets `evaluating` and `orgs` only.")
            .Produces<AlertStats>()
            .RequireAuthorization(AuthSetup.OrgAdminPolicy);
        return app;
    }

    // Hub admins (and every caller without tokens) see the hub's numbers; an org admin only its orgs'.
    private static IResult Stats(HttpContext context, AlertService service) =>
        Caller.Of(context.User) is { IsHubAdmin: false } caller
            ? TypedResults.Ok(new OrgStatsResponse(service.Stats().Evaluating, service.OrgStats(caller.Orgs ?? (IReadOnlyCollection<string>)[])))
            : TypedResults.Ok(service.Stats());

    private static async Task<IResult> ListAsync(HttpContext context, AlertFeed feed, ITelemetryAccess access, TimeProvider time)
    {
        if (!TryReadFilters(context, out var query, out var problem))
        {
            return problem!;
        }

        var limit = 100;
        var q = context.Request.Query;
        if (q["limit"].FirstOrDefault() is { } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return Problems.BadRequest("invalid_limit", "Malformed limit", "limit is a whole number from 1 to 1000.");
        }

        long? before = null;
        if (q["before"].FirstOrDefault() is { } beforeText)
        {
            if (!long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return Problems.BadRequest("invalid_before", "Malformed before", "before is an alert id (a whole number).");
            }

            before = id;
        }

        var scope = AlertAccess.Query(access.Resolve(context));
        var rows = await feed.Store.QueryAsync(query with { Orgs = scope.Orgs, Sites = scope.Sites, NewestFirst = true, Limit = limit, BeforeId = before }, context.RequestAborted);
        var alerts = rows.Select(AlertFeed.FromStored).ToArray();
        return CsvWriter.IsAsked(context) ? Csv(alerts) : JsonList(alerts);
    }

    private static IResult Active(HttpContext context, AlertFeed feed, ITelemetryAccess access)
    {
        var filter = AlertAccess.Filter(access.Resolve(context));
        var site = context.Request.Query["site"].FirstOrDefault();
        return JsonList(feed.Active(a => filter(a) && (site is null || a.Site == site)));
    }

    private static async Task<IResult> StreamAsync(HttpContext context, AlertFeed feed, ITelemetryAccess access, SseStreams sse)
    {
        if (!TryReadFilters(context, out var query, out var problem))
        {
            return problem!;
        }

        var lastEventId = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
        long resumeAfter = long.MaxValue;
        if (!string.IsNullOrEmpty(lastEventId) && (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out resumeAfter)))
        {
            return Problems.BadRequest("invalid_last_event_id", "Malformed Last-Event-ID", $"'{Problems.Truncate(lastEventId)}' is not an alert id; alert ids are whole numbers.");
        }

        var scope = access.Resolve(context);
        var visible = AlertAccess.Filter(scope);
        var stored = AlertAccess.Query(scope);
        Func<Alert, bool> filter = a => visible(a)
            && (query.Site is null || a.Site == query.Site)
            && (query.Type is null || a.Type == query.Type)
            && (query.State is null || a.State.ToWireName() == query.State);
        var subscription = string.IsNullOrEmpty(lastEventId)
            ? feed.Subscribe(filter)
            : await feed.SubscribeAsync(filter, query with { Orgs = stored.Orgs, Sites = stored.Sites }, resumeAfter, cancellationToken: context.RequestAborted);
        await sse.StreamAsync(context, subscription, SseFrameOf);
        return TypedResults.Empty;
    }

    /// <summary>The SSE frame of an alert: <c>id: 42</c>, <c>event: alert</c>, the alert's JSON.</summary>
    public static ReadOnlyMemory<byte> SseFrameOf(Alert alert) =>
        alert.GetEncoded(SseFraming, a => SseFrame.Event(a.Id, AlertEvent, a.Json.Span));

    private static Task<IResult> ReportAsync(HttpContext context, AlertFeed feed, AlertBudget budget, ITelemetryAccess access, DerDirectory ders, TimeProvider time) =>
        ReportAboutAsync(context, null, feed, budget, access, ders, time);

    // A meter the caller may not report on is not told apart from one that does not exist (404 either way).
    private static async Task<IResult> ReportForMeterAsync(HttpContext context, string meter, AlertFeed feed, AlertBudget budget, ITelemetryAccess access, DerDirectory ders, TimeProvider time) =>
        ders.TryFindMeter(meter, access.ResolvePublish(context), out var address, out var problem)
            ? await ReportAboutAsync(context, address, feed, budget, access, ders, time)
            : problem!;

    // An alert from a client; with a meter (its device base URL) the alert is about that meter.
    private static async Task<IResult> ReportAboutAsync(HttpContext context, DerAddress? meter, AlertFeed feed, AlertBudget budget, ITelemetryAccess access, DerDirectory ders, TimeProvider time)
    {
        if (context.Request.ContentLength > MaxReportBytes)
        {
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, "too_large", "Request too large", $"At most {MaxReportBytes} bytes per alert.");
        }

        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            body = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Problems.BadRequest("malformed_json", "Malformed JSON", e.Message);
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return Problems.BadRequest("malformed_json", "Malformed alert", "The body is one JSON object: {type, message, timestamp, data}.");
        }

        var errors = new Dictionary<string, string[]>();
        // A member of the body, else the query's parameter of that name (the seed's script can say where in the URL).
        string? Text(string name)
        {
            if (body.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String)
            {
                return p.GetString();
            }

            if (p.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
            {
                errors[name] = ["Must be a string."];
            }

            return context.Request.Query[name].FirstOrDefault();
        }

        var type = Text("type");
        var message = Text("message");
        var org = Text("org");
        var site = Text("site");
        var derId = Text("der");
        if (type is null || !Subjects.IsValidToken(type))
        {
            errors["type"] = ["Required: the alert's type, e.g. \"high_consumption\" (letters, digits, '-', '_')."];
        }

        if (string.IsNullOrWhiteSpace(message) || message.Length > 1000)
        {
            errors["message"] = ["Required: what happened, at most 1000 characters."];
        }

        var timestamp = time.GetUtcNow();
        if (body.TryGetProperty("timestamp", out var ts) && ts.ValueKind != JsonValueKind.Null)
        {
            var text = ts.ValueKind == JsonValueKind.Number ? ts.GetRawText() : ts.ValueKind == JsonValueKind.String ? ts.GetString() : null;
            if (!HistoryRequest.TryTime(text, timestamp, out timestamp))
            {
                errors["timestamp"] = ["An ISO-8601 time (the seed's new Date().toISOString()) or epoch milliseconds."];
            }
        }

        byte[]? data = body.TryGetProperty("data", out var d) ? Encoding.UTF8.GetBytes(d.GetRawText()) : null;
        var scope = access.ResolvePublish(context);
        DerAddress? der = null;
        if (meter is not null)
        {
            der = meter;
            if ((derId is not null && derId != meter.Der && derId != meter.Subject) || (site is not null && site != meter.Site) || (org is not null && org != meter.Org))
            {
                errors["der"] = ["The path names the meter: \"der\", \"site\" and \"org\", when given, must be its."];
            }
        }
        else if (derId is not null)
        {
            der = ders.All(scope).Select(x => x.Address).FirstOrDefault(a => (a.Der == derId || a.Subject == derId) && (org is null || a.Org == org) && (site is null || a.Site == site));
            if (der is null)
            {
                errors["der"] = [$"No DER '{Problems.Truncate(derId)}' that this caller may report on."];
            }
        }
        else if (site is null || !Subjects.IsValidToken(site))
        {
            errors["site"] = ["Say which site the alert is about: \"site\" (and \"org\" when several orgs have it) or \"der\", in the body or the query."];
        }
        else if (org is null)
        {
            var orgs = scope.Orgs is { Count: 1 } granted ? granted.ToArray() : ders.OrgsWithSite(site, null, scope);
            if (orgs.Length == 1)
            {
                org = orgs[0];
            }
            else
            {
                errors["org"] = [orgs.Length == 0 ? $"No org with site '{Problems.Truncate(site)}' that this caller may report on: name the org." : "Several orgs have this site: name the org."];
            }
        }
        else if (!Subjects.IsValidToken(org))
        {
            errors["org"] = ["Not a valid id."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid alert", extensions: new Dictionary<string, object?> { ["error"] = "invalid_alert" });
        }

        org = der?.Org ?? org!;
        site = der?.Site ?? site!;
        if (der is null && !scope.CanSeeSite(org, site))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "forbidden_site", "Not your site", $"This caller may not report alerts for {org}/{site}.");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!budget.TryTake(org, now))
        {
            context.Response.Headers.RetryAfter = AlertBudget.SecondsLeft(now).ToString(CultureInfo.InvariantCulture);
            return Problems.Problem(StatusCodes.Status429TooManyRequests, "alert_budget", "Too many alerts", $"{org} raised {budget.PerMinute} alerts this minute (Alerts:MaxAlertsPerMinutePerOrg); try again in the next one.");
        }

        var alert = await feed.PublishAsync(
            new AlertDraft(AlertFeed.ReportedRule, type!, AlertState.Firing, message!, timestamp.ToUnixTimeMilliseconds(), org, site, der, null, null, null, data),
            context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = $"/api/alerts?before={alert.Id + 1}&limit=1";
        return Results.Bytes(alert.Json.ToArray(), "application/json");
    }

    private const long MaxReportBytes = 64 * 1024;

    private static bool TryReadFilters(HttpContext context, out AlertQuery query, out IResult? problem)
    {
        var q = context.Request.Query;
        query = new AlertQuery();
        problem = null;
        var state = q["state"].FirstOrDefault();
        if (state is not null && state is not ("firing" or "resolved"))
        {
            problem = Problems.BadRequest("invalid_state", "Malformed state", "state is firing or resolved.");
            return false;
        }

        var site = q["site"].FirstOrDefault();
        if (site is not null && !Problems.TryValidateId(site, "site id", out problem))
        {
            return false;
        }

        var type = q["type"].FirstOrDefault();
        if (type is not null && !Problems.TryValidateId(type, "alert type", out problem))
        {
            return false;
        }

        long? from = null, to = null;
        foreach (var (name, set) in new (string, Action<long>)[] { ("from", v => from = v), ("to", v => to = v) })
        {
            if (q[name].FirstOrDefault() is { } text)
            {
                if (!HistoryRequest.TryTime(text, DateTimeOffset.UnixEpoch, out var t))
                {
                    problem = Problems.BadRequest($"invalid_{name}", $"Malformed {name}", $"{name} is an ISO-8601 time or epoch milliseconds, not '{Problems.Truncate(text)}'.");
                    return false;
                }

                set(t.ToUnixTimeMilliseconds());
            }
        }

        query = new AlertQuery { State = state, Site = site, Type = type, From = from, To = to };
        return true;
    }

    private static IResult JsonList(IReadOnlyList<Alert> alerts) => JsonLists.Of("alerts", alerts.Select(a => a.Json));

    private static IResult Csv(IReadOnlyList<Alert> alerts)
    {
        var csv = new CsvWriter("id", "timestamp", "rule", "type", "state", "org", "site", "device", "der", "value", "threshold", "message");
        foreach (var alert in alerts)
        {
            using var json = JsonDocument.Parse(alert.Json);
            var root = json.RootElement;
            double? Number(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDouble() : null;
            csv.Number(alert.Id).Text(root.GetProperty("timestamp").GetString()).Text(alert.Rule).Text(alert.Type).Text(alert.State.ToWireName())
                .Text(alert.Org).Text(alert.Site).Text(alert.Der?.Device).Text(alert.Der?.Der)
                .Number(Number("value")).Number(Number("threshold")).Text(root.GetProperty("message").GetString()).EndRow();
        }

        return csv.ToResult();
    }

    public sealed record OrgStatsResponse(bool Evaluating, IReadOnlyList<OrgAlertStats> Orgs);

    public sealed record DeliveriesResponse(IReadOnlyList<WebhookStatus> Webhooks, IReadOnlyList<DeadLetter> DeadLetters);
}
