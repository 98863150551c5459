using Microsoft.Extensions.Diagnostics.HealthChecks;
using Wattstream.Hub.Resume;
using Wattstream.Nats;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Nats;

/// <summary>
/// NATS when <c>Nats:Url</c> is set: the publisher (every reading and status change on Novacore's subjects, into the
/// JetStream stream) and its state on <c>/readyz</c> and <c>/api/nats</c>. The <c>nats</c> source kind is always there.
/// </summary>
public static class NatsSetup
{
    public static IServiceCollection AddWattstreamNats(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<NatsOptions>(configuration, NatsOptions.SectionName);
        services.AddSingleton(NatsSource.Factory);
        var options = configuration.GetSection(NatsOptions.SectionName).Get<NatsOptions>() ?? new NatsOptions();
        if (!options.Enabled)
        {
            return services;
        }

        if (options.Cluster)
        {
            // Registered before the publisher: its StartingAsync attaches the log before anything else starts.
            services.AddSingleton<ClusterNode>();
            services.AddHostedService(sp => sp.GetRequiredService<ClusterNode>());
            // Resume: the ring, then the stream (ids are its sequences), then the store.
            var store = services.Last(d => d.ServiceType == typeof(IEventHistory));
            services.Remove(store);
            services.AddSingleton<IEventHistory>(sp => new JetStreamEventHistory(
                sp.GetRequiredService<ClusterNode>(),
                (IEventHistory)(store.ImplementationFactory?.Invoke(sp) ?? store.ImplementationInstance ?? NoEventHistory.Instance)));
        }

        services.AddSingleton<NatsPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<NatsPublisher>());
        // Not a readiness failure: local clients are served while NATS is away (the state is shown, not enforced).
        services.AddHealthChecks().AddCheck<NatsCheck>("nats", tags: [Health.Readiness.Tag]);
        return services;
    }

    public static IEndpointRouteBuilder MapNats(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/nats", (IServiceProvider services) => services.GetService<NatsPublisher>() is { } publisher
                ? Results.Ok(publisher.Status with { Cluster = services.GetService<ClusterNode>()?.Status })
                : Problems.NotFound("nats_off", "NATS is off", "Nats:Url is not set: the hub runs on its in-process hub alone."))
            .RequireAuthorization(Access.AuthSetup.AdminPolicy)
            .WithTags("nats")
            .WithSummary("The NATS link: connection state, stream, readings and statuses published, readings dropped while NATS was away; in cluster mode the node's feed and log too")
            .Produces<NatsLinkStatus>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private sealed class NatsCheck(NatsPublisher publisher, IServiceProvider services) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (services.GetService<ClusterNode>()?.Status is { } node)
            {
                var nodeDetail = $"cluster node {node.Node}: {node.State}; stream {node.Stream} at sequence {node.NextSequence - 1}, {node.Pending} pending";
                return Task.FromResult(node.State == "open" ? HealthCheckResult.Healthy(nodeDetail) : HealthCheckResult.Degraded(nodeDetail));
            }

            var status = publisher.Status;
            // /readyz is public: the state and counters only (the last error is on /api/nats, for admins).
            var detail = $"{status.State}; stream {status.Stream}; {status.Published} published, {status.Dropped} dropped";
            return Task.FromResult(status.State == "open" ? HealthCheckResult.Healthy(detail) : HealthCheckResult.Degraded(detail));
        }
    }
}
