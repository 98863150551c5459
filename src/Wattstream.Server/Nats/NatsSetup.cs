using Microsoft.Extensions.Diagnostics.HealthChecks;
using Wattstream.Hub.Jobs;
using Wattstream.Hub.Resume;
using Wattstream.Nats;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Alerts;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Nats;

/// <summary>
/// NATS when <c>Nats:Url</c> is set: the publisher (every reading and status change on Novacore's subjects, into the
/// JetStream stream) and its state on <c>/readyz</c> and <c>/api/nats</c>. The <c>nats</c> source kind is one of the sources' own (<c>Wattstream.Sources.Nats</c>).
/// </summary>
public static class NatsSetup
{
    public static IServiceCollection AddWattstreamNats(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<NatsOptions>(configuration, NatsOptions.SectionName);
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
            // Jobs (sources, a site's alerts, summaries) run on the node holding their lease, once in the cluster.
            services.AddSingleton<IJobOwnership>(sp => sp.GetRequiredService<ClusterNode>());
            // Each source's owner shares its status; every node shows it and follows it (stops after the sources).
            services.AddSingleton<Wattstream.Sources.ClusterSourceStatuses>();
            services.AddHostedService(sp => sp.GetRequiredService<Wattstream.Sources.ClusterSourceStatuses>());
            // API keys and the API's alert rules in KV buckets every node shares.
            services.AddSharedConfiguration();
            // Alerts: one evaluation per site (its owner), one id per alert (the ALERTS stream's sequence).
            services.AddClusterAlerts();
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
                ? Results.Ok(NatsLinkDocument.Of(publisher.Status with { Cluster = services.GetService<ClusterNode>()?.Status }))
                : Problems.NotFound("nats_off", "NATS is off", "Nats:Url is not set: the hub runs on its in-process hub alone."))
            .RequireAuthorization(Access.AuthSetup.AdminPolicy)
            .WithTags("nats")
            .WithSummary("The NATS link: connection state, stream, readings and statuses published, readings dropped while NATS was away; in cluster mode the node's feed and log too")
            .Produces<NatsLinkDocument>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("/api/cluster", async (IServiceProvider services, CancellationToken cancellationToken) =>
                services.GetService<ClusterNode>()?.Coordinator is { } coordinator
                    ? Results.Ok(await ClusterDocument.ReadAsync(coordinator, cancellationToken))
                    : Problems.NotFound("cluster_off", "Cluster mode is off", "Nats:Cluster is not set: this node runs its jobs alone."))
            .RequireAuthorization(Access.AuthSetup.AdminPolicy)
            .WithTags("nats")
            .WithSummary("The cluster's nodes as the membership bucket shows them, with the jobs each holds a lease for")
            .Produces<ClusterDocument>()
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

/// <summary>
/// <c>/api/nats</c>: the link's state and counters, with the counts of the feeds registered here under the names they
/// have always had (<c>statusesPublished</c>, <c>alertsPublished</c>, <c>summariesPublished</c>) and per feed kind.
/// </summary>
public sealed record NatsLinkDocument(
    string State,
    string Stream,
    long Published,
    long StatusesPublished,
    long Dropped,
    long Failed,
    string? LastError,
    Wattstream.Nats.Cluster.ClusterStatus? Cluster,
    long AlertsPublished,
    long SummariesPublished,
    IReadOnlyDictionary<string, long> Feeds)
{
    public static NatsLinkDocument Of(NatsLinkStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        long Count(string kind) => status.Feeds.GetValueOrDefault(kind);
        return new(
            status.State,
            status.Stream,
            status.Published,
            Count(Wattstream.Server.Feeds.StatusFeed.Kind),
            status.Dropped,
            status.Failed,
            status.LastError,
            status.Cluster,
            Count(Wattstream.Server.Feeds.AlertsFeed.Kind),
            Count(Wattstream.Server.Feeds.SummaryFeed.Kind),
            status.Feeds);
    }
}

/// <summary><c>/api/cluster</c>: this node, the lease TTL, and every node with its heartbeat and the jobs it owns.</summary>
public sealed record ClusterDocument(string Node, TimeSpan LeaseTtl, IReadOnlyList<ClusterNodeDocument> Nodes)
{
    public static async Task<ClusterDocument> ReadAsync(ClusterCoordinator coordinator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        var members = await coordinator.Membership.MembersAsync(cancellationToken);
        var leases = await coordinator.Leases.LeasesAsync(cancellationToken);
        var jobs = leases.GroupBy(l => l.Value, l => l.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Order(StringComparer.Ordinal)], StringComparer.Ordinal);
        var nodes = members
            .Select(m => new ClusterNodeDocument(m.Node, "up", m.Joined, m.LastHeartbeat, jobs.GetValueOrDefault(m.Node) ?? []))
            // A node gone from the list whose leases have not lapsed yet (killed within the last TTL).
            .Concat(jobs.Keys.Except(members.Select(m => m.Node), StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(n => new ClusterNodeDocument(n, "gone", null, null, jobs[n])))
            .ToList();
        return new(coordinator.Membership.Node, coordinator.Membership.Ttl, nodes);
    }
}

/// <summary>A node of <c>/api/cluster</c>: <c>up</c> while its heartbeat is in the bucket, <c>gone</c> when only its leases are left.</summary>
public sealed record ClusterNodeDocument(string Id, string State, DateTimeOffset? Joined, DateTimeOffset? LastHeartbeat, IReadOnlyList<string> Jobs);
