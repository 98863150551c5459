using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Access;

public sealed class CorsOptions
{
    public const string SectionName = "Cors";

    /// <summary>Origins allowed besides the local ones, e.g. "https://dashboard.example.com"; "*" allows any.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Allow http(s)://localhost, 127.0.0.1 and [::1] on any port (browser dev servers such as the HES frontend's :3000).</summary>
    public bool AllowLocalhost { get; set; } = true;

    [Range(0, 86_400)]
    public int PreflightMaxAgeSeconds { get; set; } = 600;
}

public static class CorsSetup
{
    public const string PolicyName = "wattstream";

    public static IServiceCollection AddWattstreamCors(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(CorsOptions.SectionName).Get<CorsOptions>() ?? new CorsOptions();
        services.AddCors(cors => cors.AddPolicy(PolicyName, policy => policy
            .SetIsOriginAllowed(origin => IsAllowed(origin, options))
            .AllowCredentials() // EventSource with { withCredentials: true } and cookies
            .AllowAnyHeader()
            .WithMethods("GET", "POST", "OPTIONS")
            .WithExposedHeaders("Last-Event-ID")
            .SetPreflightMaxAge(TimeSpan.FromSeconds(options.PreflightMaxAgeSeconds))));
        return services;
    }

    internal static bool IsAllowed(string origin, CorsOptions options)
    {
        if (options.AllowedOrigins.Contains("*") || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        return options.AllowLocalhost
            && Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && uri.Scheme is "http" or "https"
            && (uri.IsLoopback || uri.Host == "localhost");
    }
}
