using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;
using Wattstream.Hub.Resume;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Alerts;
using Wattstream.Server.Audit;
using Wattstream.Server.Energy;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Endpoints.Ingest;
using Wattstream.Server.Health;
using Wattstream.Server.Mqtt;
using Wattstream.Server.Nats;
using Wattstream.Server.Simulation;
using Wattstream.Server.Status;
using Wattstream.Server.Storage;
using Wattstream.Server.Transports.Sse;
using Wattstream.Server.Transports.WebSockets;
using Wattstream.Simulation;
using Wattstream.Sources;
using Wattstream.Streaming;
using Wattstream.Streaming.Formats;
using Wattstream.Streaming.Resume;
using Wattstream.Streaming.Sessions;

using Wattstream.Server.Feeds;

namespace Wattstream.Server.Composition;

/// <summary>The services of the hub, independent of which wire families are added.</summary>
public static class WattstreamServices
{
    /// <summary>
    /// The hub, status, the streaming core and its transports, history, the simulator and sources. Start order does not
    /// matter: subscribers that must see the first reading (status, history) subscribe in
    /// <see cref="IHostedLifecycleService.StartingAsync"/>, which runs before any publisher's <c>StartAsync</c>.
    /// </summary>
    public static WattstreamBuilder AddWattstream(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.Complete); // every problem the framework writes too
        services.AddExceptionHandler<BadRequestProblems>();
        services.AddExceptionHandler<StoreProblems>();
        services.AddExceptionHandler<UnexpectedErrors>(); // last: what nothing else answered
        // The handlers log (rate-limited); the middleware's own log line per exception would defeat that.
        services.Configure<ExceptionHandlerOptions>(o => o.SuppressDiagnosticsCallback = _ => true);
        services.AddWattstreamOpenApi();
        services.AddWattstreamCors(configuration);
        services.AddHostNames();
        if (Binding.MustStayOnLoopback(configuration))
        {
            services.AddSingleton<BoundAddressCheck>();
            services.AddHostedService(sp => sp.GetRequiredService<BoundAddressCheck>());
        }

        services.AddIngestLimits(configuration);
        services.AddCallerLimits(configuration);
        services.AddTrustedProxies(configuration);
        services.AddReadiness();
        services.AddMetrics();
        services.AddSingleton<Metrics.WattstreamMetrics>();
        services.AddSingleton(TimeProvider.System);

        services.AddValidatedOptions<HubOptions>(configuration, HubOptions.SectionName);
        services.AddValidatedOptions<StatusOptions>(configuration, StatusOptions.SectionName);
        services.AddValidatedOptions<StreamingOptions>(configuration, StreamingOptions.SectionName);
        services.AddValidatedOptions<SseOptions>(configuration, SseOptions.SectionName);
        services.AddValidatedOptions<WebSocketStreamingOptions>(configuration, WebSocketStreamingOptions.SectionName);
        services.AddValidatedOptions<SourceTimingOptions>(configuration, SourceTimingOptions.SectionName);
        var sources = ConfiguredSourcesReader.Read(configuration);
        services.AddSingleton(sources);
        services.AddValidatedOptions<SimulationOptions>(configuration, SimulationOptions.SectionName)
            .PostConfigure(o => o.Enabled ??= sources.All.Count == 0); // the simulator runs when nothing else feeds the hub

        // The hub and what it knows.
        services.AddSingleton(sp => new TelemetryHub(sp.GetRequiredService<IOptions<HubOptions>>())); // its other constructor is for tests
        services.AddSingleton<StatusBoard>();
        services.AddSingleton<DerDirectory>();
        services.AddWattstreamAuth(configuration);
        services.AddSingleton<StatusTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<StatusTracker>());

        // The streaming core and its transports.
        services.AddSingleton<StreamSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamSupervisor>());
        services.AddSingleton<ReadingStreams>();
        services.AddSingleton<PayloadFormats>();
        services.AddSingleton<SseStreams>();
        services.AddSingleton<WebSocketStreams>();

        // History: the store (when enabled) is also where resume finds what the ring no longer holds.
        services.AddWattstreamStorage(configuration);
        services.AddSingleton<IEventHistory>(sp => sp.GetService<Wattstream.Storage.IReadingStore>() is { } store
            ? new Wattstream.Storage.StoredEventHistory(store, sp.GetRequiredService<TelemetryHub>(), sp.GetRequiredService<StatusBoard>(), sp.GetService<Wattstream.Storage.StoreEpoch>())
            : NoEventHistory.Instance);

        // Alerts: evaluation is one more hub subscriber; rules and alerts live in the history store (memory without one).
        services.AddWattstreamAlerts(configuration);
        services.AddWattstreamAudit(configuration);

        // Energy insights: each site's live balance and its energy per period, computed once in the hub.
        services.AddWattstreamEnergy(configuration);

        // What a client can subscribe to, on every transport: readings, statuses, alerts, summaries.
        services.AddWattstreamFeeds();

        // What feeds the hub.
        services.AddSingleton<SimulatorService>();
        services.AddHostedService(sp => sp.GetRequiredService<SimulatorService>());
        services.AddWattstreamNats(configuration);
        services.AddWattstreamMqtt(configuration);
        // A single node runs every job; in cluster mode AddWattstreamNats registered the leases instead.
        services.TryAddSingleton<IJobOwnership>(_ => new LocalJobs());
        services.AddSingleton<SourceHost>();
        services.AddHostedService(sp => sp.GetRequiredService<SourceHost>());
        return new WattstreamBuilder(services, configuration);
    }
}
