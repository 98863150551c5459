using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// API keys as an authentication scheme: a key comes where a token would (<c>Authorization: Bearer</c>,
/// <c>?access_token=</c>, the session cookie) or as <c>X-Api-Key</c>, and grants what it was made with.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IApiKeyStore keys,
    IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    public static ClaimsPrincipal Principal(ApiKeyRecord key, string scheme)
    {
        var claims = new List<Claim> { new("sub", $"{StreamCredentials.KeySubjectPrefix}{key.Id}"), new(Caller.ScopeClaim, string.Join(' ', key.Scopes)) };
        claims.AddRange(key.Orgs.Select(o => new Claim(Caller.OrgClaim, o)));
        claims.AddRange(key.Sites.Select(s => new Claim(Caller.SitesClaim, s)));
        if (key.Expires is { } expires)
        {
            claims.Add(new Claim("exp", expires.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, "sub", null));
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Credentials.Presented(Context, auth.Value.CookieName) is not { } presented)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        return Task.FromResult(keys.TryVerify(presented, out var key)
            ? AuthenticateResult.Success(new AuthenticationTicket(Principal(key, SchemeName), SchemeName))
            : AuthenticateResult.Fail("unknown, revoked or expired API key"));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
        await Problems.Problem(StatusCodes.Status401Unauthorized, "invalid_key", "Unauthorized", "The API key is unknown, revoked or expired.").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Problems.Problem(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", "The API key does not grant the scope this needs (read, publish or admin).").ExecuteAsync(Context);
}
