using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Endpoints.Ingest;

namespace Wattstream.Server.Access;

/// <summary>
/// Limits per caller (a token's subject) and per client address (section <c>Limits</c>): open streams (SSE responses
/// and WebSockets) and requests per second. A client over a limit gets 429 with <c>Retry-After</c>; everyone else goes on.
/// </summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>Open streams of one caller (token subject); 0 for no limit. Applies with <c>Auth:Mode=token</c>.</summary>
    [Range(0, 1_000_000)]
    public int MaxStreamsPerCaller { get; set; } = 1000;

    /// <summary>
    /// Open streams from one client address; 0 for no limit. Unset: none while the hub listens on loopback only (its
    /// clients are then this machine and a reverse proxy, all one address), 1000 when it listens beyond.
    /// </summary>
    [Range(0, 1_000_000)]
    public int? MaxStreamsPerIp { get; set; }

    /// <summary>Requests per second of one caller (token subject), with bursts of twice that; 0 for no limit.</summary>
    [Range(0, 1_000_000)]
    public int RequestsPerSecondPerCaller { get; set; } = 200;

    /// <summary>Requests per second from one client address, with bursts of twice that; 0 for no limit. Unset: as <see cref="MaxStreamsPerIp"/>, none on loopback, 200 beyond.</summary>
    [Range(0, 1_000_000)]
    public int? RequestsPerSecondPerIp { get; set; }

    /// <summary>
    /// Refused credentials (401) one client address may present per minute before its further credential attempts get
    /// 429 for the rest of the minute (with tokens); valid tokens and requests without credentials still pass; 0 for no limit.
    /// </summary>
    [Range(0, 1_000_000)]
    public int AuthFailuresPerMinutePerIp { get; set; } = 300;
}

internal static class CallerLimits
{
    public static IServiceCollection AddCallerLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<LimitsOptions>(configuration, LimitsOptions.SectionName);
        var options = configuration.GetSection(LimitsOptions.SectionName).Get<LimitsOptions>() ?? new LimitsOptions();
        var loopbackOnly = Binding.LoopbackOnly(configuration);
        var streamsPerIp = options.MaxStreamsPerIp ?? (loopbackOnly ? 0 : 1000);
        var ratePerIp = options.RequestsPerSecondPerIp ?? (loopbackOnly ? 0 : 200);
        var ingest = configuration.GetSection(IngestOptions.SectionName).Get<IngestOptions>() ?? new IngestOptions();

        var tokens = Binding.TokensRequired(configuration);
        var devicePassword = configuration[$"{AuthOptions.SectionName}:{nameof(AuthOptions.Device)}:{nameof(DeviceAuthOptions.Password)}"] is not null;
        if ((tokens || devicePassword) && options.AuthFailuresPerMinutePerIp > 0) // a device password can be guessed in any mode
        {
            services.AddSingleton(sp => new AuthFailureThrottle(options.AuthFailuresPerMinutePerIp, sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>()));
        }

        services.AddRateLimiter(limiter =>
        {
            // Without tokens there are no callers; on loopback no address limits either: then no global limiter at all.
            if (tokens || streamsPerIp > 0 || ratePerIp > 0)
            {
                limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                    Streams(options.MaxStreamsPerCaller, CallerKey),
                    Streams(streamsPerIp, IpKey),
                    Rate(options.RequestsPerSecondPerCaller, CallerKey),
                    Rate(ratePerIp, IpKey));
            }

            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                http.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var push = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName == IngestEndpoints.PushLimiter;
                var durable = push && IngestEndpoints.IsDurable(http.Request);
                if (durable)
                {
                    http.RequestServices.GetRequiredService<DurablePushRefusals>().Count(DurablePushRefusals.Busy);
                }

                var problem = durable
                    ? Problems.Problem(StatusCodes.Status429TooManyRequests, "too_many_requests", "Too many durable pushes at once",
                        $"At most {ingest.MaxConcurrentDurablePushes} durable pushes are handled at once (Ingest:MaxConcurrentDurablePushes); retry after a second.")
                    : push
                    ? Problems.Problem(StatusCodes.Status429TooManyRequests, "too_many_requests", "Too many pushes at once",
                        $"At most {ingest.MaxConcurrentPushes} push requests are read at once (Ingest:MaxConcurrentPushes); retry after a second.")
                    : Problems.Problem(StatusCodes.Status429TooManyRequests, "too_many_requests", "Too many streams or requests",
                        $"This caller or address is over a limit (open streams or requests per second; Limits:*); retry after {retryAfter} s.");
                await problem.ExecuteAsync(http);
            };
        });
        return services;
    }

    // An authenticated caller is its token's subject; an anonymous one has no caller partition (the address limit applies).
    private static string? CallerKey(HttpContext context) => Caller.Of(context.User)?.LimitKey;

    private static string? IpKey(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

    /// <summary>A stream: a WebSocket upgrade, or an endpoint that answers with <c>text/event-stream</c>.</summary>
    private static bool IsStream(HttpContext context) =>
        context.WebSockets.IsWebSocketRequest
        || (context.GetEndpoint()?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Http.Metadata.IProducesResponseTypeMetadata>()
            .Any(m => m.ContentTypes.Contains("text/event-stream")) ?? false);

    private static PartitionedRateLimiter<HttpContext> Streams(int limit, Func<HttpContext, string?> key) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
            limit > 0 && key(context) is { } partition && IsStream(context)
                ? RateLimitPartition.GetConcurrencyLimiter(partition, _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter(""));

    private static PartitionedRateLimiter<HttpContext> Rate(int perSecond, Func<HttpContext, string?> key) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
            perSecond > 0 && key(context) is { } partition
                ? RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perSecond * 2,
                    TokensPerPeriod = perSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                })
                : RateLimitPartition.GetNoLimiter(""));
}
