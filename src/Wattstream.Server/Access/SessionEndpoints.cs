using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// A browser session: <c>POST /api/session</c> with a token sets it as an HttpOnly, SameSite=Strict cookie (Secure on
/// HTTPS), so pages (the dashboard) need not keep the token in script; <c>DELETE</c> clears it.
/// </summary>
public static class SessionEndpoints
{
    public sealed record SessionRequest(string? Token);

    public sealed record SessionResponse(string Caller, string[] Orgs, string[] Sites, string[] Scopes, DateTimeOffset? ExpiresAt);

    public static IEndpointRouteBuilder MapSession(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/session").WithTags("auth").AllowAnonymous();
        group.MapPost("", LoginAsync)
            .WithSummary("Exchange a token for a session cookie (HttpOnly, SameSite=Strict)")
            .Produces<SessionResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .DisableAntiforgery();
        group.MapDelete("", (HttpContext context, IOptions<AuthOptions> auth) =>
        {
            context.Response.Cookies.Delete(auth.Value.CookieName, Cookie(context, expires: null));
            return TypedResults.NoContent();
        }).WithSummary("End the session: the cookie is cleared");
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, SessionRequest request, IOptions<AuthOptions> auth, IServiceProvider services)
    {
        if (auth.Value.Mode != AuthMode.Token)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "auth_off", "No tokens here", "Auth:Mode is none: every caller is served without a session.");
        }

        if (string.IsNullOrWhiteSpace(request.Token) || request.Token.Length > 16 * 1024)
        {
            return Problems.BadRequest("missing_token", "No token", "The body must be {\"token\": \"<token>\"}.");
        }

        Caller? caller;
        if (request.Token.StartsWith(ApiKeys.Prefix, StringComparison.Ordinal))
        {
            caller = services.GetRequiredService<IApiKeyStore>().TryVerify(request.Token, out var key)
                ? Caller.Of(ApiKeyAuthenticationHandler.Principal(key, ApiKeyAuthenticationHandler.SchemeName))
                : null;
            if (caller is null)
            {
                return Refused(context, services) ?? Problems.Problem(StatusCodes.Status401Unauthorized, "invalid_key", "Unauthorized", "The API key is unknown, revoked or expired.");
            }
        }
        else
        {
            // The parameters the bearer handler uses, built once (keys loaded at the first use, not per login).
            var bearer = services.GetRequiredService<IOptionsMonitor<Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerOptions>>()
                .Get(Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerDefaults.AuthenticationScheme);
            var result = await new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(request.Token, bearer.TokenValidationParameters);
            caller = result.IsValid ? Caller.Of(new System.Security.Claims.ClaimsPrincipal(result.ClaimsIdentity)) : null;
            if (caller is null)
            {
                var (error, detail) = AuthSetup.Describe(result.Exception);
                return Refused(context, services) ?? Problems.Problem(StatusCodes.Status401Unauthorized, error, "Unauthorized", detail);
            }
        }

        context.Response.Cookies.Append(auth.Value.CookieName, request.Token, Cookie(context, caller.ExpiresAt));
        return TypedResults.Ok(new SessionResponse(
            caller.Name,
            caller.Orgs?.Order(StringComparer.Ordinal).ToArray() ?? ["*"],
            caller.Sites?.Order(StringComparer.Ordinal).ToArray() ?? ["*"],
            Enum.GetValues<CallerScopes>().Where(s => s != CallerScopes.None && caller.Can(s)).Select(s => s.ToString().ToLowerInvariant()).ToArray(),
            caller.ExpiresAt));
    }

    // A wrong token from an address over the refused-credentials limit: 429, as any other attempt from there (a right one signs in).
    private static IResult? Refused(HttpContext context, IServiceProvider services) =>
        services.GetService<AuthFailureThrottle>() is { } throttle && throttle.IsOverLimit(context)
            ? throttle.Refusal(context)
            : null;

    private static CookieOptions Cookie(HttpContext context, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };
}
