using System.Text.Json;
using Microsoft.Extensions.Options;
using Wattstream.Alerts;
using Wattstream.Alerts.Rules;
using Wattstream.Server.Access;
using Wattstream.Server.Audit;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Alerts;

/// <summary>
/// <c>/api/alert-rules</c>: list, read, create, replace and delete rules. Rules of configuration and the example set
/// are listed but read-only. A change is in force at once, without a restart. Readers see every-org rules and those of
/// their orgs and sites; org admins change rules within their orgs; every-org rules are a hub admin's.
/// </summary>
public static class AlertRuleEndpoints
{
    private static readonly JsonSerializerOptions Strict = new(AlertRuleJson.Default.Options)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow, // "treshold" is an error, not a default
        TypeInfoResolver = AlertRuleJson.Default,
    };

    public static IEndpointRouteBuilder MapAlertRules(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/alert-rules").WithTags("alerts");
        group.MapGet("", (HttpContext context, AlertRuleSet rules, ITelemetryAccess access) =>
            {
                var scope = access.Resolve(context);
                return TypedResults.Ok(new RulesResponse([.. rules.All().Where(r => AlertAccess.CanSee(scope, r))]));
            })
            .WithSummary("Every rule the caller may see, with its source (config, example or api)")
            .Produces<RulesResponse>();
        group.MapGet("/{id}", (HttpContext context, string id, AlertRuleSet rules, ITelemetryAccess access) =>
                rules.Find(id) is { } rule && AlertAccess.CanSee(access.Resolve(context), rule) ? Results.Ok(rule) : NotFound(id))
            .WithSummary("One rule")
            .Produces<AlertRule>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("", CreateAsync)
            .WithSummary("Create a rule: `{id, type, org, site, der, threshold, hysteresis, forSeconds, repeatSeconds, enabled, field, operator, latitude, longitude, ratedPower}` (docs/protocol.md)")
            .Accepts<AlertRule>("application/json")
            .Produces<AlertRule>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(AuthSetup.OrgAdminPolicy)
            .DisableAntiforgery();
        group.MapPut("/{id}", ReplaceAsync)
            .WithSummary("Create or replace the rule with this id")
            .Accepts<AlertRule>("application/json")
            .Produces<AlertRule>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(AuthSetup.OrgAdminPolicy)
            .DisableAntiforgery();
        group.MapDelete("/{id}", DeleteAsync)
            .WithSummary("Delete a rule made through the API; its firing alerts resolve")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(AuthSetup.OrgAdminPolicy);
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, AlertRuleSet rules, ITelemetryAccess access, IOptions<AlertsOptions> options, AuditLog audit)
    {
        var (rule, problem) = await ReadAsync(context, null);
        if (problem is not null)
        {
            return problem;
        }

        if (rules.Find(rule!.Id!) is not null)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "rule_exists", "Rule exists", $"A rule '{rule.Id}' exists: PUT /api/alert-rules/{rule.Id} replaces it, or pick another id.");
        }

        return await SaveAsync(context, rule, rules, access, options, audit);
    }

    private static async Task<IResult> ReplaceAsync(HttpContext context, string id, AlertRuleSet rules, ITelemetryAccess access, IOptions<AlertsOptions> options, AuditLog audit)
    {
        if (!Problems.TryValidateId(id, "rule id", out var invalid))
        {
            return invalid!;
        }

        var (rule, problem) = await ReadAsync(context, id);
        if (problem is not null)
        {
            return problem;
        }

        if (rules.Find(id) is { } existing)
        {
            if (rules.IsFixed(id))
            {
                return FixedRule(id);
            }

            if (!AlertAccess.MayManage(access.Resolve(context), existing))
            {
                return Forbidden(existing);
            }
        }

        return await SaveAsync(context, rule!, rules, access, options, audit);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string id, AlertRuleSet rules, ITelemetryAccess access, AuditLog audit)
    {
        var scope = access.Resolve(context);
        if (rules.Find(id) is not { } existing || !AlertAccess.CanSee(scope, existing))
        {
            return NotFound(id);
        }

        if (rules.IsFixed(id))
        {
            return FixedRule(id);
        }

        if (!AlertAccess.MayManage(scope, existing))
        {
            return Forbidden(existing);
        }

        await rules.DeleteAsync(id, context.RequestAborted);
        await audit.RecordAsync(context, "deleted", AuditLog.AlertRule, id, [existing.Org]);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> SaveAsync(HttpContext context, AlertRule rule, AlertRuleSet rules, ITelemetryAccess access, IOptions<AlertsOptions> options, AuditLog audit)
    {
        if (!AlertAccess.MayManage(access.Resolve(context), rule))
        {
            return Forbidden(rule);
        }

        // Judged with saves serialised (two creates at once cannot both take the last place), and per org as well as
        // hub-wide, so one org cannot use up the rules of all the others.
        var limits = options.Value;
        AlertRule? before = null;
        IResult? refused = null;
        var saved = await rules.SaveAsync(rule, () =>
        {
            before = rules.Find(rule.Id!);
            if (before is null && rules.ApiRuleCount >= limits.MaxRules)
            {
                refused = TooManyRules($"At most {limits.MaxRules} rules (Alerts:MaxRules).");
            }
            else if (rule.Org is not null && before?.Org != rule.Org && rules.ApiRuleCountOf(rule.Org) >= limits.MaxRulesPerOrg)
            {
                refused = TooManyRules($"At most {limits.MaxRulesPerOrg} rules per org (Alerts:MaxRulesPerOrg).");
            }

            return refused is null;
        }, context.RequestAborted);
        if (!saved)
        {
            return refused!;
        }

        var now = rules.Find(rule.Id!)!;
        var created = before is null;
        // A rule moved to another org is that org's change and the one it left.
        await audit.RecordAsync(context, created ? "created" : "changed", AuditLog.AlertRule, rule.Id!, created ? [rule.Org] : [before!.Org, rule.Org], Details(now));
        return created ? Results.Created($"/api/alert-rules/{rule.Id}", now) : Results.Ok(now);
    }

    private static IResult TooManyRules(string message) => Problems.Problem(StatusCodes.Status409Conflict, "too_many_rules", "Too many rules", message);

    // The rule as it is now, for the audit log (rules hold no secret).
    private static string Details(AlertRule rule)
    {
        var copy = rule.Copy();
        copy.Source = null;
        return JsonSerializer.Serialize(copy, AlertRuleJson.Default.AlertRule);
    }

    private static async Task<(AlertRule? Rule, IResult? Problem)> ReadAsync(HttpContext context, string? routeId)
    {
        AlertRule? rule;
        try
        {
            rule = await JsonSerializer.DeserializeAsync<AlertRule>(context.Request.Body, Strict, context.RequestAborted);
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : "body";
            return (null, TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [e.Message] },
                title: "Invalid alert rule",
                extensions: new Dictionary<string, object?> { ["error"] = "invalid_rule" }));
        }

        if (rule is null)
        {
            return (null, Problems.BadRequest("invalid_rule", "Invalid alert rule", "The body is one JSON object: the rule."));
        }

        if (routeId is not null)
        {
            if (rule.Id is not null && rule.Id != routeId)
            {
                return (null, TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { ["id"] = [$"The body's id '{Excerpt.Of(rule.Id, 64)}' is not the URL's '{routeId}'."] },
                    title: "Invalid alert rule",
                    extensions: new Dictionary<string, object?> { ["error"] = "invalid_rule" }));
            }

            rule.Id = routeId;
        }

        rule.Id ??= $"rule-{Guid.NewGuid():N}"[..13];
        rule.Source = null;
        if (rule.Validate() is { Count: > 0 } errors)
        {
            return (null, TypedResults.ValidationProblem(errors, title: "Invalid alert rule", extensions: new Dictionary<string, object?> { ["error"] = "invalid_rule" }));
        }

        return (rule, null);
    }

    private static IResult NotFound(string id) =>
        Problems.NotFound("rule_not_found", "Unknown rule", $"No rule '{Excerpt.Of(id, 64)}'. GET /api/alert-rules lists the rules.");

    private static IResult FixedRule(string id) =>
        Problems.Problem(StatusCodes.Status409Conflict, "rule_read_only", "Rule from configuration", $"'{id}' is defined in configuration (Alerts:Rules or the example set): change it there.");

    private static IResult Forbidden(AlertRule rule) =>
        Problems.Problem(StatusCodes.Status403Forbidden, "forbidden_rule", "Not your rule", rule.Org is null
            ? "A rule for every org is a hub admin's to make."
            : $"This caller may not manage rules of {rule.Org}{(rule.Site is null ? "" : "/" + rule.Site)}.");

    public sealed record RulesResponse(IReadOnlyList<AlertRule> Rules);
}
