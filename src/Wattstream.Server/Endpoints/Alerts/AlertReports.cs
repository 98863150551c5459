using System.Globalization;
using System.Text;
using System.Text.Json;
using Wattstream.Alerts;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints.History;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Alerts;

/// <summary>
/// Alerts reported by clients (<c>POST /api/alerts</c>, and <c>POST /meters/{meter}/api/alerts</c> under a meter's device
/// base URL) in the seed's shape <c>{type, message, timestamp, data}</c>: checked, placed at a DER or site the caller may
/// publish to, counted against the org's alert budget, and published on the alert feed.
/// </summary>
internal static class AlertReports
{
    public static Task<IResult> ReportAsync(HttpContext context, AlertFeed feed, AlertBudget budget, ITelemetryAccess access, DerDirectory ders, TimeProvider time) =>
        ReportAboutAsync(context, null, feed, budget, access, ders, time);

    // A meter the caller may not report on is not told apart from one that does not exist (404 either way).
    public static async Task<IResult> ReportForMeterAsync(HttpContext context, string meter, AlertFeed feed, AlertBudget budget, ITelemetryAccess access, DerDirectory ders, TimeProvider time) =>
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
                errors["der"] = [$"No DER '{Excerpt.Of(derId, 64)}' that this caller may report on."];
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
                errors["org"] = [orgs.Length == 0 ? $"No org with site '{Excerpt.Of(site, 64)}' that this caller may report on: name the org." : "Several orgs have this site: name the org."];
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
}
