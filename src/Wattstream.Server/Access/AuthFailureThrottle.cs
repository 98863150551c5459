using System.Threading.RateLimiting;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// Guessing is slow: a client address whose requests were refused (401) more than
/// <see cref="LimitsOptions.AuthFailuresPerMinutePerIp"/> times in a minute gets 429 for the rest of that minute,
/// before authentication runs. (The other limits sit after authentication, so they never see a refused request.)
/// </summary>
internal sealed class AuthFailureThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;

    public AuthFailureThrottle(int perMinute) =>
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "";
        if (_failures.GetStatistics(address)?.CurrentAvailablePermits == 0)
        {
            context.Response.Headers.RetryAfter = "60";
            await Problems.Problem(StatusCodes.Status429TooManyRequests, "too_many_failures", "Too many refused credentials",
                    "Requests from this address were refused too often (Limits:AuthFailuresPerMinutePerIp); retry in a minute.")
                .ExecuteAsync(context);
            return;
        }

        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            _failures.AttemptAcquire(address).Dispose();
        }
    }

    public void Dispose() => _failures.Dispose();
}
