using System.Text.Json;
using System.Text.Json.Serialization;
using Wattstream.Server.Audit;
using Wattstream.Server.Endpoints;
using Wattstream.Telemetry;

namespace Wattstream.Server.Access;

/// <summary>
/// <c>/api/keys</c> (admin): make, list and revoke API keys. A caller grants no more than it holds: a key's orgs and
/// sites lie within the caller's own, so an admin of one org cannot mint a key into another.
/// </summary>
public static class ApiKeyEndpoints
{
    public sealed record CreateKeyRequest(string? Name, string[]? Orgs, string[]? Sites, string[]? Scopes, string? Ttl);

    public sealed record KeyView(string Id, string Name, string[] Orgs, string[] Sites, string[] Scopes, DateTimeOffset Created, DateTimeOffset? Expires);

    public sealed record CreatedKey(string Key, KeyView Details);

    public static IEndpointRouteBuilder MapApiKeys(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/keys").WithTags("auth").RequireAuthorization(AuthSetup.OrgAdminPolicy);
        group.MapGet("", (HttpContext context, IServiceProvider services) =>
            Store(services) is { } keys
                ? Results.Ok(keys.List().Where(k => Within(Caller.Of(context.User)!, k.Orgs, k.Sites)).Select(View))
                : AuthOff()).WithSummary("The API keys within the caller's orgs (never their secrets)")
            .Produces<KeyView[]>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("", Create)
            .WithSummary("Make an API key; its secret is in this answer only")
            .Produces<CreatedKey>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .DisableAntiforgery();
        group.MapDelete("/{id}", async (string id, HttpContext context, IServiceProvider services, AuditLog audit) =>
        {
            if (Store(services) is not { } keys)
            {
                return AuthOff();
            }

            var key = keys.List().FirstOrDefault(k => k.Id == id);
            if (key is null || !Within(Caller.Of(context.User)!, key.Orgs, key.Sites) || !await keys.RevokeAsync(id))
            {
                return Problems.NotFound("not_found", "Unknown key", $"No API key '{Excerpt.Of(id, 64)}'.");
            }

            await audit.RecordAsync(context, "revoked", AuditLog.ApiKey, id, key.Orgs, AuditDetails(key));
            return TypedResults.NoContent();
        }).WithSummary("Revoke an API key: it is refused from the next request on")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> Create(HttpContext context, CreateKeyRequest request, IServiceProvider services, TimeProvider time, AuditLog audit)
    {
        if (Store(services) is not { } keys)
        {
            return AuthOff();
        }

        var caller = Caller.Of(context.User)!;
        var orgs = (request.Orgs ?? []).Distinct(StringComparer.Ordinal).ToArray();
        var sites = (request.Sites ?? []).Where(s => s != "*").Distinct(StringComparer.Ordinal).ToArray();
        var scopes = (request.Scopes ?? ["read"]).Distinct(StringComparer.Ordinal).ToArray();
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100)
        {
            errors["name"] = ["A name of 1 to 100 characters says what the key is for."];
        }

        if (orgs.Length == 0 || orgs.Any(o => o != "*" && !Telemetry.Subjects.IsValidToken(o)))
        {
            errors["orgs"] = [$"One or more org ids ({Telemetry.Subjects.TokenRule}), or *."];
        }

        if (sites.Any(s => !Telemetry.Subjects.IsValidToken(s)))
        {
            errors["sites"] = [$"Site ids are {Telemetry.Subjects.TokenRule}."];
        }

        if (scopes.Length == 0 || scopes.Any(s => s is not ("read" or "publish" or "admin")))
        {
            errors["scopes"] = ["One or more of read, publish, admin."];
        }

        TimeSpan lifetime = default;
        if (request.Ttl is not null && (!TokenIssuer.TryParseLifetime(request.Ttl, out lifetime) || lifetime <= TimeSpan.Zero || lifetime > TokenIssuer.MaxLifetime))
        {
            errors["ttl"] = ["A lifetime such as 30m, 12h or 90d (at most 366d); leave it out for a key that does not expire."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid key request", extensions: new Dictionary<string, object?> { ["error"] = "invalid_request" });
        }

        if (!Within(caller, orgs, sites))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "outside_scope", "Outside the caller's orgs and sites", "A key can grant only orgs and sites the caller holds itself.");
        }

        if (scopes.Any(s => !caller.Can(Enum.Parse<CallerScopes>(s, ignoreCase: true))))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "outside_scope", "More than the caller holds", "A key can grant only scopes the caller holds itself.");
        }

        // A key outlives no credential that made it: a token's expiry caps the key's.
        DateTimeOffset? expires = request.Ttl is null ? null : time.GetUtcNow() + lifetime;
        if (caller.ExpiresAt is { } callerExpires && (expires is null || expires > callerExpires))
        {
            expires = callerExpires;
        }

        var fullOrg = "";
        var limit = services.GetRequiredService<ApiKeyLimit>();
        if (await limit.CreateAsync(keys, request.Name!, orgs, sites, scopes, expires, org => fullOrg = org) is not { } made)
        {
            return Problems.Problem(
                StatusCodes.Status409Conflict, "too_many_keys", "Too many keys", $"The org '{fullOrg}' has {limit.MaxPerOrg} API keys already (Auth:MaxKeysPerOrg): revoke one first.");
        }

        var (record, key) = made;
        await audit.RecordAsync(context, "created", AuditLog.ApiKey, record.Id, record.Orgs, AuditDetails(record));
        return TypedResults.Created($"/api/keys/{record.Id}", new CreatedKey(key, View(record)));
    }

    // Every org (and site) of the grant is the caller's: a caller of every org may grant anything.
    private static bool Within(Caller caller, string[] orgs, string[] sites) =>
        (caller.Orgs is null || (orgs.Length > 0 && !orgs.Contains("*") && orgs.All(caller.Orgs.Contains)))
        && (caller.Sites is null || (sites.Length > 0 && sites.All(caller.Sites.Contains)));

    // What the audit log says of a key: never its secret or hash. A key of several orgs is listed under each, so its
    // entry leaves out the sites, which may be another of its orgs'.
    private static string AuditDetails(ApiKeyRecord k) => JsonSerializer.Serialize(
        new KeyAudit(k.Name, k.Scopes, k.Orgs.Length == 1 ? k.Sites : null, k.Expires),
        AuditJson.Default.KeyAudit);

    private static KeyView View(ApiKeyRecord k) => new(k.Id, k.Name, k.Orgs, k.Sites, k.Scopes, k.Created, k.Expires);

    private static IApiKeyStore? Store(IServiceProvider services) => services.GetService<IApiKeyStore>();

    private static IResult AuthOff() => Problems.Problem(StatusCodes.Status409Conflict, "auth_off", "No keys here", "Auth:Mode is none: every caller is served without a key.");
}

internal sealed record KeyAudit(string Name, string[] Scopes, string[]? Sites, DateTimeOffset? Expires);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KeyAudit))]
internal sealed partial class AuditJson : JsonSerializerContext;
