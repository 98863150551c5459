using Microsoft.AspNetCore.Cors.Infrastructure;

namespace Wattstream.Server.Access;

/// <summary>
/// Which browser origins may read the hub, and which of them with the user's session cookie. With tokens on, only an
/// origin listed in <c>Cors:AllowedOrigins</c> gets credentialed CORS (<c>Access-Control-Allow-Credentials</c>); the
/// local development origins (<c>Cors:AllowLocalhost</c>) and <c>*</c> are answered without it, so a page on another
/// port of this machine can read what it may read without a session, never what the session cookie opens. With
/// <c>Auth:Mode=none</c> there is no session to protect, and local front-ends (the HES one's <c>EventSource</c> with
/// <c>withCredentials</c>) get credentialed CORS as before.
/// </summary>
public static class CorsSetup
{
    public const string PolicyName = "wattstream";

    public static IServiceCollection AddWattstreamCors(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(CrossOriginOptions.SectionName).Get<CrossOriginOptions>() ?? new CrossOriginOptions();
        options.AllowLocalhost ??= Binding.LoopbackOnly(configuration);
        var tokens = Binding.TokensRequired(configuration);
        services.AddCors();
        services.AddSingleton<ICorsPolicyProvider>(new PolicyProvider(
            Policy(options, origin => IsAllowed(origin, options) && (!tokens || IsListed(origin, options)), credentials: true),
            Policy(options, origin => IsAllowed(origin, options), credentials: false)));
        return services;
    }

    internal static bool IsAllowed(string origin, CrossOriginOptions options)
    {
        if (options.AllowedOrigins.Contains("*") || IsListed(origin, options))
        {
            return true;
        }

        return options.AllowLocalhost == true
            && Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && uri.Scheme is "http" or "https"
            && (uri.IsLoopback || uri.Host == "localhost");
    }

    // Named one by one, so trusted with the user's session.
    private static bool IsListed(string origin, CrossOriginOptions options) => options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase);

    private static CorsPolicy Policy(CrossOriginOptions options, Func<string, bool> allowed, bool credentials)
    {
        var policy = new CorsPolicyBuilder()
            .SetIsOriginAllowed(allowed)
            .AllowAnyHeader()
            .WithMethods("GET", "POST", "OPTIONS")
            .WithExposedHeaders("Last-Event-ID")
            .SetPreflightMaxAge(TimeSpan.FromSeconds(options.PreflightMaxAgeSeconds));
        return (credentials ? policy.AllowCredentials() : policy.DisallowCredentials()).Build();
    }

    /// <summary>The credentialed policy for an origin it allows, else the one without credentials (which may refuse it too).</summary>
    private sealed class PolicyProvider(CorsPolicy withCredentials, CorsPolicy withoutCredentials) : ICorsPolicyProvider
    {
        private readonly Task<CorsPolicy?> _with = Task.FromResult<CorsPolicy?>(withCredentials);
        private readonly Task<CorsPolicy?> _without = Task.FromResult<CorsPolicy?>(withoutCredentials);

        public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName) =>
            context.Request.Headers.Origin.ToString() is { Length: > 0 } origin && withCredentials.IsOriginAllowed(origin) ? _with : _without;
    }
}
