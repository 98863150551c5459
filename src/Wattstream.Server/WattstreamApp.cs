using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Simulation;
using Wattstream.Server.Streaming;
using Wattstream.Simulation;

namespace Wattstream.Server;

/// <summary>Builds the Wattstream host. Tests build it the same way, on a free loopback port.</summary>
public static class WattstreamApp
{
    public const string DefaultUrl = "http://127.0.0.1:8111";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Oversized request headers get a 431 instead of being buffered.
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.AddServerHeader = false;
        });

        AddServices(builder.Services, builder.Configuration);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapGet("/healthz", (TelemetryHub hub) => TypedResults.Ok(new HealthResponse("ok", hub.Counters.Accepted, hub.Counters.Subscribers)))
            .WithTags("general")
            .WithSummary("200 while the hub is serving.");
        app.MapWhatwatt();

        app.Lifetime.ApplicationStopping.Register(app.Services.GetRequiredService<TelemetryHub>().CompleteAll);
        app.Lifetime.ApplicationStarted.Register(() => LogWhereToLook(app));
        return app;
    }

    public static void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddProblemDetails();
        services.AddSingleton(TimeProvider.System);

        services.AddOptions<HubOptions>().Bind(configuration.GetSection(HubOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SseOptions>().Bind(configuration.GetSection(SseOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SimulationOptions>().Bind(configuration.GetSection(SimulationOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(sp => new TelemetryHub(sp.GetRequiredService<IOptions<HubOptions>>()));
        services.AddSingleton<WireFormats>();
        services.AddSingleton<MeterLookup>();
        services.AddSingleton<SseStreaming>();
        services.AddSingleton<SseHeartbeats>();
        services.AddHostedService(sp => sp.GetRequiredService<SseHeartbeats>());
        services.AddSingleton<SimulatorService>();
        services.AddHostedService(sp => sp.GetRequiredService<SimulatorService>());
    }

    /// <summary>The addresses the server listens on (after start).</summary>
    public static IReadOnlyCollection<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    private static void LogWhereToLook(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Wattstream");
        foreach (var address in Addresses(app))
        {
            var url = address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal);
            logger.LogInformation("Wattstream is listening on {Url}", url);
            logger.LogInformation("Try: curl -N {Url}/api/v1/live   (whatwatt live SSE of the first meter)", url);
            logger.LogInformation("     curl {Url}/healthz", url);
        }
    }

    public sealed record HealthResponse(string Status, long ReadingsAccepted, int Subscribers);
}
