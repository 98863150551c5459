namespace Wattstream.Server.Access;

public static class CorsSetup
{
    public const string PolicyName = "wattstream";

    public static IServiceCollection AddWattstreamCors(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(CrossOriginOptions.SectionName).Get<CrossOriginOptions>() ?? new CrossOriginOptions();
        options.AllowLocalhost ??= Binding.LoopbackOnly(configuration);
        services.AddCors(cors => cors.AddPolicy(PolicyName, policy => policy
            .SetIsOriginAllowed(origin => IsAllowed(origin, options))
            .AllowCredentials() // EventSource with { withCredentials: true } and cookies
            .AllowAnyHeader()
            .WithMethods("GET", "POST", "OPTIONS")
            .WithExposedHeaders("Last-Event-ID")
            .SetPreflightMaxAge(TimeSpan.FromSeconds(options.PreflightMaxAgeSeconds))));
        return services;
    }

    internal static bool IsAllowed(string origin, CrossOriginOptions options)
    {
        if (options.AllowedOrigins.Contains("*") || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        return options.AllowLocalhost == true
            && Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && uri.Scheme is "http" or "https"
            && (uri.IsLoopback || uri.Host == "localhost");
    }
}
