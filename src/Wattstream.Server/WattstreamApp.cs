using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Endpoints.DerSim;
using Wattstream.Server.Endpoints.General;
using Wattstream.Server.Endpoints.Hes;
using Wattstream.Server.Endpoints.Novacore;
using Wattstream.Server.Endpoints.Whatwatt;
using Wattstream.Server.Simulation;
using Wattstream.Server.Status;
using Wattstream.Server.Streaming;
using Wattstream.Simulation;
using Wattstream.Sources;
using Wattstream.Server.Endpoints.Ingest;
using Wattstream.Server.Endpoints.History;
using Wattstream.Server.Endpoints.Dashboard;
using Wattstream.Server.Storage;

namespace Wattstream.Server;

/// <summary>Builds the Wattstream host. Tests build it the same way, on a free loopback port.</summary>
public static class WattstreamApp
{
    public const string DefaultUrl = "http://127.0.0.1:8111";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Settings and content come from beside the binary, wherever it is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
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
        app.UseCors(CorsSetup.PolicyName);
        app.UseWebSocketWriteBatching(); // before UseWebSockets, which takes the upgrade features it wraps
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = app.Services.GetRequiredService<IOptions<WebSocketStreamingOptions>>().Value.KeepAliveInterval });

        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/docs", options => options
            .WithTitle("Wattstream API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json"));

        app.MapGet("/healthz", (TelemetryHub hub) => TypedResults.Ok(new HealthResponse("ok", hub.Counters.Accepted, hub.Counters.Subscribers)))
            .WithTags("general")
            .WithSummary("200 while the hub is serving");
        app.MapWhatwatt();
        app.MapHes();
        app.MapNovacore();
        app.MapDerSim();
        app.MapDiscovery();
        app.MapTelemetryWebSocket();
        app.MapIngest();
        app.MapHistory();
        app.MapDashboard();

        var hub = app.Services.GetRequiredService<TelemetryHub>();
        var board = app.Services.GetRequiredService<StatusBoard>();
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            hub.CompleteAll();
            board.CompleteAll();
        });
        app.Lifetime.ApplicationStarted.Register(() => LogWhereToLook(app));
        return app;
    }

    public static void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddProblemDetails();
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Wattstream";
            document.Info.Description = "Real-time energy telemetry hub: whatwatt, HES, Novacore and DERSim compatible streams, discovery and a general WebSocket (docs/protocol.md).";
            return Task.CompletedTask;
        }));
        services.AddWattstreamCors(configuration);
        services.AddSingleton(TimeProvider.System);

        services.AddOptions<HubOptions>().Bind(configuration.GetSection(HubOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SseOptions>().Bind(configuration.GetSection(SseOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebSocketStreamingOptions>().Bind(configuration.GetSection(WebSocketStreamingOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StatusOptions>().Bind(configuration.GetSection(StatusOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SourceTimingOptions>().Bind(configuration.GetSection(SourceTimingOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        var sources = ReadSources(configuration);
        services.AddOptions<SimulationOptions>()
            .Bind(configuration.GetSection(SimulationOptions.SectionName))
            .PostConfigure(o => o.Enabled ??= sources.Count == 0) // the simulator runs when nothing else feeds the hub
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddSingleton(sp => new TelemetryHub(sp.GetRequiredService<IOptions<HubOptions>>()));
        services.AddSingleton(sp => new StatusBoard(sp.GetRequiredService<IOptions<StatusOptions>>().Value.StaleAfter, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ITelemetryAccess, OpenAccess>();
        services.AddSingleton<DerSimDevices>();
        services.AddSingleton<WireFormats>();
        services.AddSingleton<DerDirectory>();
        services.AddSingleton<WhatwattDevice>();
        services.AddSingleton<SseStreaming>();
        services.AddSingleton<SseHeartbeats>();
        services.AddSingleton<WebSocketSupervisor>();

        // Hosted services start in this order: the status tracker subscribes before the simulator's first step.
        services.AddHostedService(sp => sp.GetRequiredService<SseHeartbeats>());
        services.AddHostedService(sp => sp.GetRequiredService<WebSocketSupervisor>());
        services.AddSingleton<StatusTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<StatusTracker>());
        services.AddWattstreamStorage(configuration); // the history writer subscribes before anything publishes
        services.AddSingleton<SimulatorService>();
        services.AddHostedService(sp => sp.GetRequiredService<SimulatorService>());
        services.AddSingleton(sp => new SourceHost(
            sources,
            sp.GetRequiredService<TelemetryHub>(),
            sp.GetRequiredService<StatusBoard>(),
            sp.GetRequiredService<IOptions<SourceTimingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<SourceHost>());
    }

    /// <summary>The <c>Sources</c> list, validated: a bad entry stops the start with a message naming it.</summary>
    private static List<SourceOptions> ReadSources(IConfiguration configuration)
    {
        var sources = configuration.GetSection("Sources").Get<List<SourceOptions>>() ?? [];
        for (var i = 0; i < sources.Count; i++)
        {
            var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
            if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(sources[i], new(sources[i]), results, validateAllProperties: true))
            {
                throw new OptionsValidationException($"Sources:{i}", typeof(SourceOptions), results.Select(r => $"Sources:{i}: {r.ErrorMessage}"));
            }
        }

        var duplicate = sources.GroupBy(s => s.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new OptionsValidationException("Sources", typeof(SourceOptions), [$"Two sources have the id '{duplicate.Key}'."]);
        }

        return sources;
    }

    /// <summary>The addresses the server listens on (after start).</summary>
    public static IReadOnlyCollection<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    private static void LogWhereToLook(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Wattstream");
        var site = app.Services.GetRequiredService<TelemetryHub>().Ders.Select(d => d.Address.Site).FirstOrDefault() ?? "site-1";
        foreach (var address in Addresses(app))
        {
            var url = address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal);
            logger.LogInformation(
                """
                Wattstream is listening on {Url}
                  Dashboard:             {Url}/
                  API reference:         {Url}/docs
                  whatwatt live (SSE):   curl -N {Url}/api/v1/live
                  HES meter readings:    curl -N {Url}/api/sse/meters
                  Novacore site stream:  curl -N {Url}/stream/sites/{Site}
                  Sites and meters:      curl {Url}/api/sites   curl {Url}/api/meters
                  DERSim WebSocket:      ws://{Host}/api/dersim/ws/telemetry   general WebSocket: ws://{Host}/ws
                """,
                url, url, url, url, url, url, site, url, url, new Uri(url).Authority, new Uri(url).Authority);
        }
    }

    public sealed record HealthResponse(string Status, long ReadingsAccepted, int Subscribers);
}
