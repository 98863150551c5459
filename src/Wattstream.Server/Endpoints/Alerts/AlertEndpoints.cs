using System.Globalization;
using System.Text.Json;
using Wattstream.Alerts;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Webhooks;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints.History;
using Wattstream.Server.Transports.Sse;
using Wattstream.Hub;
using Wattstream.Storage.Alerts;
using Wattstream.Streaming.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Alerts;

/// <summary>
/// Alerts over REST and SSE: the list (JSON or CSV), those firing now, the live stream (resumable), reports from
/// clients in the seed's shape (handled by <see cref="AlertReports"/>), and webhook deliveries. Every answer is filtered
/// by the caller's orgs and sites.
/// </summary>
public static class AlertEndpoints
{
    public const string AlertEvent = "alert";

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
        group.MapPost("", AlertReports.ReportAsync)
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
        app.MapPost("/meters/{meter}/api/alerts", AlertReports.ReportForMeterAsync)
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
        group.MapGet("/deliveries", (WebhookDispatcher webhooks) => TypedResults.Ok(new DeliveriesResponse(webhooks.Statuses(), webhooks.DeadLetters(), webhooks.Node)))
            .WithSummary("Webhooks: each one's counters on this node (URL without query or credentials) and the dead-letter list of deliveries that failed every attempt; in cluster mode the list is the whole cluster's, each entry naming the node that tried, and `node` names this one")
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
        var rows = await feed.History.QueryAsync(query with { Orgs = scope.Orgs, Sites = scope.Sites, NewestFirst = true, Limit = limit, BeforeId = before }, context.RequestAborted);
        var alerts = rows.Select(AlertFeed.FromStored).ToArray();
        return CsvWriter.IsAsked(context) ? Csv(alerts) : JsonList(alerts);
    }

    private static IResult Active(HttpContext context, AlertFeed feed, ITelemetryAccess access)
    {
        var scope = access.Resolve(context);
        var site = context.Request.Query["site"].FirstOrDefault();
        return JsonList(feed.Active(a => scope.CanSee(a) && (site is null || a.Site == site)));
    }

    private static async Task<IResult> StreamAsync(HttpContext context, RegisteredFeed<Alert> feed, ITelemetryAccess access, SseStreams sse)
    {
        if (!TryReadFilters(context, out var query, out var problem))
        {
            return problem!;
        }

        // The feed applies the caller's scope and resume (ring, then store); the list's filters narrow it further.
        var opening = await feed.OpenAsync(
            SseStreams.FeedRequest(context, SubjectPattern.All, access.Resolve(context)),
            a => (query.Site is null || a.Site == query.Site)
                && (query.Type is null || a.Type == query.Type)
                && (query.State is null || a.State.ToWireName() == query.State),
            context.RequestAborted);
        return await sse.StreamFeedAsync(context, opening);
    }

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
                    problem = Problems.BadRequest($"invalid_{name}", $"Malformed {name}", $"{name} is an ISO-8601 time or epoch milliseconds, not '{Excerpt.Of(text, 64)}'.");
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

    /// <summary>This node's webhook counters (in cluster mode <paramref name="Node"/>'s), and the dead letters (in cluster mode the cluster's, each naming its node).</summary>
    public sealed record DeliveriesResponse(
        IReadOnlyList<WebhookStatus> Webhooks,
        IReadOnlyList<DeadLetter> DeadLetters,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Node = null);
}
