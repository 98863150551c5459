using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// Guessing is slow: once a client address has presented refused credentials (401) more than
/// <see cref="LimitsOptions.AuthFailuresPerMinutePerIp"/> times in a minute, its further credential attempts are
/// refused with 429 for the rest of that minute. Only attempts are refused, never the address: a request with a valid
/// token, API key or session cookie is served (those cannot be guessed, so serving them tells a guesser nothing), and
/// so is every request that presents no credential (<c>/healthz</c>, <c>/readyz</c>, the dashboard's files). A device
/// password (Basic, Digest) is a person's choice and can be guessed: from an address over the limit it is refused even
/// when right, until the minute ends, so a guess cannot be confirmed.
/// Runs after authentication (which has then judged the credential) and before authorization (which would answer 401).
/// </summary>
internal sealed class AuthFailureThrottle(int perMinute, IOptions<AuthOptions> auth) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    private long _refused;

    /// <summary>Credential attempts refused because their address was over the limit.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>True while the request's address has used up its refused credentials for this minute.</summary>
    public bool IsOverLimit(HttpContext context) => _failures.GetStatistics(Address(context))?.CurrentAvailablePermits == 0;

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // A login (POST /api/session) judges its body's token itself, and answers a wrong one from here with 429 too.
        var login = HttpMethods.IsPost(context.Request.Method) && context.Request.Path.StartsWithSegments("/api/session");
        var attempt = login || PresentsCredential(context);
        if (!attempt)
        {
            return next(context); // nothing to count: no state machine for the request's life
        }

        if (!login && IsOverLimit(context) && !HoldsUnguessableCredential(context))
        {
            return Refusal(context).ExecuteAsync(context);
        }

        return CountRefusalAsync(context, next);
    }

    private async Task CountRefusalAsync(HttpContext context, RequestDelegate next)
    {
        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            _failures.AttemptAcquire(Address(context)).Dispose();
        }
    }

    /// <summary>The 429 of an address over the limit (also what <c>POST /api/session</c> answers a refused token then).</summary>
    public IResult Refusal(HttpContext context)
    {
        Interlocked.Increment(ref _refused);
        context.Response.Headers.RetryAfter = "60";
        return Problems.Problem(StatusCodes.Status429TooManyRequests, "too_many_failures", "Too many refused credentials",
            "Credentials from this address were refused too often (Limits:AuthFailuresPerMinutePerIp); further attempts are refused for up to a minute. Valid tokens and keys are still served.");
    }

    // A guess is a request that carries a credential (a header, the URL's token, the session cookie) or a login.
    private bool PresentsCredential(HttpContext context) =>
        context.Request.Headers.Authorization.Count > 0 || Credentials.Presented(context, auth.Value.CookieName) is not null;

    private static bool HoldsUnguessableCredential(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, AuthenticationType: { } scheme } && scheme != DeviceAuthSchemeHandler.SchemeName;

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "";

    public void Dispose() => _failures.Dispose();
}
