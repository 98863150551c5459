using System.Text.Json;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Storage.Audit;

namespace Wattstream.Server.Audit;

/// <summary><c>GET /api/audit</c>: the audit log, newest first, a page at a time. Hub admins read every entry; org admins their orgs' entries.</summary>
public static class AuditEndpoints
{
    /// <summary>One entry as listed; <see cref="Details"/> is what changed (a rule's JSON; a key's name, scopes and expiry).</summary>
    public sealed record AuditView(long Id, DateTimeOffset Time, string Subject, string? Issuer, string? Org, string Action, string Kind, string Target, JsonElement? Details);

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", ListAsync)
            .WithTags("auth")
            .WithSummary("Who changed what (API keys, alert rules), newest first: `?limit=` (≤ 10 000), `?offset=`; `X-Total-Count` and `Link: rel=\"next\"`")
            .WithDescription("Each entry: `{id, time, subject, issuer, org, action, kind, target, details}`; `org` null for a hub-wide change (a rule or key of every org), which hub admins alone see.")
            .Produces<AuditView[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .RequireAuthorization(AuthSetup.OrgAdminPolicy);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext context, AuditLog audit)
    {
        if (!Paging.TryRead(context, out var offset, out var limit, out var problem))
        {
            return problem!;
        }

        // No caller (Auth:Mode=none) or an admin of every org: everything; an org admin: its orgs' entries.
        var caller = Caller.Of(context.User);
        var orgs = caller is null || caller.IsHubAdmin ? null : caller.Orgs ?? (IReadOnlyCollection<string>)[];
        var page = await audit.Store.QueryAsync(new AuditQuery(orgs, offset, limit), context.RequestAborted);
        Paging.Headers(context, page.Total, offset, limit);
        return TypedResults.Ok(page.Entries.Select(e => new AuditView(
            e.Id,
            DateTimeOffset.FromUnixTimeMilliseconds(e.Timestamp),
            e.Subject,
            e.Issuer,
            e.Org,
            e.Action,
            e.Kind,
            e.Target,
            e.Details is null ? null : JsonDocument.Parse(e.Details).RootElement.Clone())).ToArray());
    }
}
