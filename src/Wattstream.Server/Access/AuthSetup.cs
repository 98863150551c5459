using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// Authentication and authorization of every endpoint. With <c>Auth:Mode=token</c> a request needs a bearer token
/// (header, <c>?access_token=</c>, or the session cookie) and each endpoint one of three policies; with <c>none</c> the
/// same policies let everyone through (but the device paths, when a device password is set), so endpoints declare what
/// they need once and do not care which mode runs.
/// </summary>
public static class AuthSetup
{
    /// <summary>Read streams, discovery and history (what is read is then narrowed by <see cref="ITelemetryAccess"/>).</summary>
    public const string ReadPolicy = "read";

    /// <summary>Push readings.</summary>
    public const string PublishPolicy = "publish";

    /// <summary>The hub itself: sources, storage, metrics, NATS. Needs <c>admin</c> over every org (<c>org: *</c>).</summary>
    public const string AdminPolicy = "admin";

    /// <summary>An organisation's own administration (its API keys): <c>admin</c> over one or more orgs.</summary>
    public const string OrgAdminPolicy = "org-admin";

    public static IServiceCollection AddWattstreamAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<AuthOptions>(configuration, AuthOptions.SectionName);
        QueryTokenScrubbingServer.Decorate(services);
        var authentication = services.AddAuthentication();
        // The session cookie is the token itself, but what ASP.NET Core protects (antiforgery, any cookie of a later
        // feature) must survive a restart: the keys live in the data directory, owner-only, without a start-up warning.
        services.AddWattstreamDataProtection();
        var tokens = (configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions()).Mode == AuthMode.Token;
        var device = configuration.GetSection($"{AuthOptions.SectionName}:Device").Get<DeviceAuthOptions>() ?? new DeviceAuthOptions();
        if (device.Password is not null)
        {
            services.AddSingleton(sp => DeviceAuthSchemeHandler.CreateVerifier(sp.GetRequiredService<IOptions<AuthOptions>>().Value.Device, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<DerDirectory>()));
            authentication.AddScheme<AuthenticationSchemeOptions, DeviceAuthSchemeHandler>(DeviceAuthSchemeHandler.SchemeName, null);
        }

        if (!tokens)
        {
            // Everything is open, except that a device password, when set, guards the device paths as on the device:
            // a user who sets one on a loopback hub expects them protected. The device scheme judges only those paths.
            services.AddSingleton<ITelemetryAccess, OpenAccess>();
            if (device.Password is not null)
            {
                services.Configure<AuthenticationOptions>(o => o.DefaultScheme = DeviceAuthSchemeHandler.SchemeName);
            }

            services.AddAuthorization(o =>
            {
                o.AddPolicy(ReadPolicy, p => p.RequireAssertion(DevicePathsHoldThePassword));
                o.AddPolicy(PublishPolicy, p => p.RequireAssertion(DevicePathsHoldThePassword));
                o.AddPolicy(AdminPolicy, p => p.RequireAssertion(DevicePathsHoldThePassword));
                o.AddPolicy(OrgAdminPolicy, p => p.RequireAssertion(DevicePathsHoldThePassword));
                if (device.Password is not null)
                {
                    o.FallbackPolicy = o.GetPolicy(ReadPolicy); // the device endpoints declare no policy of their own
                }
            });
            return services;
        }

        services.AddSingleton<ITelemetryAccess, TokenAccess>();
        services.AddSingleton<IApiKeyStore>(sp => new FileApiKeyStore(
            sp.GetRequiredService<IOptions<Wattstream.Storage.StorageOptions>>().Value.ResolveDataDirectory(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ApiKeyLimit>();
        authentication.AddJwtBearer();
        authentication.AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);

        // Which scheme checks a request: the device password on a device path (Digest/Basic, or nothing presented),
        // an API key when the credential is one, a JWT otherwise.
        authentication.AddPolicyScheme(CallerScheme, null, o => o.ForwardDefaultSelector = context =>
        {
            if (device.Password is not null && DeviceAuthSchemeHandler.IsDevicePath(context.Request.Path) && UsesDeviceAuthentication(context))
            {
                return DeviceAuthSchemeHandler.SchemeName;
            }

            var cookie = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.CookieName;
            return Credentials.Presented(context, cookie)?.StartsWith(ApiKeys.Prefix, StringComparison.Ordinal) == true
                ? ApiKeyAuthenticationHandler.SchemeName
                : JwtBearerDefaults.AuthenticationScheme;
        });
        services.Configure<AuthenticationOptions>(o => o.DefaultScheme = CallerScheme);
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<AuthOptions>>((jwt, auth) => Configure(jwt, auth.Value));
        services.AddAuthorization(o =>
        {
            o.AddPolicy(ReadPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c => Caller.Of(c.User)?.Can(CallerScopes.Read) == true));
            o.AddPolicy(PublishPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c => Caller.Of(c.User)?.Can(CallerScopes.Publish) == true));
            o.AddPolicy(AdminPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c => Caller.Of(c.User)?.IsHubAdmin == true));
            o.AddPolicy(OrgAdminPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c => Caller.Of(c.User)?.Can(CallerScopes.Admin) == true));
            o.FallbackPolicy = o.GetPolicy(ReadPolicy); // an endpoint that declares nothing is a read
        });
        return services;
    }

    private const string CallerScheme = "Caller";

    // Without tokens: open, but a device path needs the device password when one is set (judged by the device scheme,
    // the default scheme then; without a password there is no device check and the paths stay open).
    private static bool DevicePathsHoldThePassword(AuthorizationHandlerContext context) =>
        context.Resource is not HttpContext http
        || !DeviceAuthSchemeHandler.IsDevicePath(http.Request.Path)
        || http.RequestServices.GetService<Wattstream.DeviceAuthentication.DeviceAuthVerifier>() is null
        || context.User.Identity?.IsAuthenticated == true;

    // On a device path: Digest or Basic credentials, or no credentials at all (then the challenge is the device's).
    private static bool UsesDeviceAuthentication(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase) || header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return header.Length == 0 && Credentials.Presented(context, context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.CookieName) is null;
    }

    /// <summary>Checks issued tokens the strict way: signed with a configured key by an allowed algorithm, in date.</summary>
    internal static TokenValidationParameters ValidationParameters(AuthOptions auth) => new()
    {
        IssuerSigningKeys = SigningKeys.Load(auth),
        ValidAlgorithms = SigningKeys.Algorithms,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = true,
        ClockSkew = auth.ClockSkew,
        ValidateIssuer = auth.Issuer is not null,
        ValidIssuer = auth.Issuer,
        ValidateAudience = auth.Audience is not null,
        ValidAudience = auth.Audience,
        NameClaimType = "sub",
    };

    private static void Configure(JwtBearerOptions jwt, AuthOptions auth)
    {
        jwt.MapInboundClaims = false; // org, sites, scope and sub keep their names
        jwt.TokenValidationParameters = ValidationParameters(auth);
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // The Authorization header is read by the handler itself; without one, what a browser can send.
                if (string.IsNullOrEmpty(context.Request.Headers.Authorization))
                {
                    context.Token = Credentials.FromUrlOrCookie(context.HttpContext, auth.CookieName);
                }

                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var (error, detail) = Describe(context.AuthenticateFailure);
                context.Response.Headers.WWWAuthenticate = context.AuthenticateFailure is null ? "Bearer" : $"Bearer error=\"invalid_token\", error_description=\"{detail}\"";
                await Problems.Problem(StatusCodes.Status401Unauthorized, error, "Unauthorized", detail).ExecuteAsync(context.HttpContext);
            },
            OnForbidden = async context =>
                await Problems.Problem(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", "The token does not grant the scope this needs (read, publish, admin; the hub's own endpoints need admin over every org).")
                    .ExecuteAsync(context.HttpContext),
        };
    }

    // Why a token was refused, in words that name no key, no token and no claim value.
    internal static (string Error, string Detail) Describe(Exception? failure) => failure switch
    {
        null => ("unauthorized", "A token is needed: Authorization: Bearer <token>, ?access_token=<token> (EventSource, WebSocket), or the session cookie (POST /api/session)."),
        SecurityTokenExpiredException => ("token_expired", "The token has expired."),
        SecurityTokenNotYetValidException => ("token_not_yet_valid", "The token is not valid yet (nbf)."),
        SecurityTokenNoExpirationException => ("invalid_token", "The token has no expiry (exp)."),
        SecurityTokenInvalidIssuerException => ("invalid_token", "The token's issuer is not accepted."),
        SecurityTokenInvalidAudienceException => ("invalid_token", "The token's audience is not accepted."),
        SecurityTokenInvalidAlgorithmException => ("invalid_token", "The token's signing algorithm is not accepted (HS256, ES256 or EdDSA)."),
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => ("invalid_token", "The token's signature does not verify."),
        _ => ("invalid_token", "The token is malformed or not signed by a key this hub accepts."),
    };
}
