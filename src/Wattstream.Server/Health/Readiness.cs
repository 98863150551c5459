using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Simulation;
using Wattstream.Sources;
using Wattstream.Storage;

namespace Wattstream.Server.Health;

/// <summary>
/// <c>/readyz</c>: ready to serve — something feeds the hub (the simulator runs, the sources started, or it is a cluster node), the hub is not
/// draining for shutdown, and the history queue has room. ASP.NET Core's health checks, one per dependency, each named in
/// the JSON answer; 503 while any is unhealthy. A store that fails while readings queue within bounds is <c>degraded</c>
/// (200): live serving goes on, so a load balancer keeps the hub. <c>/healthz</c> stays the plain "alive" answer.
/// </summary>
/// <remarks>
/// A change of the overall state is logged once (by <see cref="ReadinessLog"/>); ASP.NET Core's own line per unhealthy check
/// and probe is filtered out, since a load balancer probes every few seconds.
/// </remarks>
public static class Readiness
{
    public const string Tag = "ready";

    // ASP.NET Core's health check service, which logs an error for every unhealthy check of every probe.
    private const string HealthCheckServiceCategory = "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService";

    public static IServiceCollection AddReadiness(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DrainingCheck>("draining", tags: [Tag])
            .AddCheck<FeedsCheck>("feeds", tags: [Tag])
            .AddCheck<StoreCheck>("store", tags: [Tag]);
        services.AddSingleton<ReadinessLog>();
        services.AddLogging(logging => logging.AddFilter(HealthCheckServiceCategory, LogLevel.Critical));
        return services;
    }

    public static IEndpointConventionBuilder MapReadiness(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Tag),
            ResponseWriter = WriteAsync,
        });

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.RequestServices.GetRequiredService<ReadinessLog>().Observe(report);
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(
            new Dictionary<string, object>
            {
                ["status"] = report.Status.ToString().ToLowerInvariant(),
                ["checks"] = report.Entries.ToDictionary(
                    e => e.Key,
                    e => new Dictionary<string, string?> { ["status"] = e.Value.Status.ToString().ToLowerInvariant(), ["detail"] = e.Value.Description }),
            }));
    }

    private sealed class DrainingCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("shutting down: streams are being closed")
                : HealthCheckResult.Healthy("serving"));
    }

    // A cluster node is fed by the cluster's stream: a node without a simulator or sources of its own serves what the
    // others publish (its state is the nats check's).
    private sealed class FeedsCheck(SimulatorService simulator, SourceHost sources, IServiceProvider services) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var statuses = sources.Statuses().ToArray();
            var parts = new List<string>();
            if (simulator.Simulator is { } sim)
            {
                parts.Add($"simulator: {sim.Sites.Count} sites");
            }

            if (statuses.Length > 0)
            {
                parts.Add($"sources: {string.Join(", ", statuses.Select(s => $"{s.Id} {s.Status}"))}");
            }

            var cluster = services.GetService<ClusterNode>() is not null;
            if (cluster)
            {
                parts.Add("the cluster's stream");
            }

            var started = simulator.Simulator is not null || statuses.Length > 0 || cluster;
            return Task.FromResult(started
                ? HealthCheckResult.Healthy(string.Join("; ", parts))
                : HealthCheckResult.Unhealthy("nothing feeds the hub: no simulator, no source, no cluster"));
        }
    }

    private sealed class StoreCheck(IServiceProvider services, Microsoft.Extensions.Options.IOptions<StorageOptions> options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (services.GetService<HistoryWriter>() is not { } writer)
            {
                return Task.FromResult(HealthCheckResult.Healthy("history is off"));
            }

            if (writer.Store.Damage is { } damage)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy($"{writer.Store.Kind}: damaged: {damage}"));
            }

            var status = writer.Status;
            var queue = $"{status.Queued} of {status.QueueCapacity} readings queued";
            return Task.FromResult(
                status.Queued >= options.Value.QueueAlmostFull
                    ? HealthCheckResult.Unhealthy($"{status.Store}: {queue} (90 % or more): the next are about to be dropped{(status.LastError is null ? "" : $"; {status.LastError}")}")
                    : writer.IsFailing
                    ? HealthCheckResult.Degraded($"{status.Store}: writes failing since {status.FailingSince:O} ({status.LastError}); {queue}; live serving goes on, durable pushes are refused")
                    : HealthCheckResult.Healthy($"{status.Store}: {status.Written} readings written, {queue}"));
        }
    }
}

/// <summary>Logs <c>/readyz</c>'s overall state when it changes (healthy, degraded, unhealthy), with the checks that are not healthy: once per change, not per probe.</summary>
public sealed class ReadinessLog(ILogger<ReadinessLog> logger)
{
    private int _last = (int)HealthStatus.Healthy;

    public void Observe(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var previous = (HealthStatus)Interlocked.Exchange(ref _last, (int)report.Status);
        if (previous == report.Status)
        {
            return;
        }

        var why = string.Join("; ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description}"));
        var level = report.Status switch
        {
            HealthStatus.Unhealthy => LogLevel.Error,
            HealthStatus.Degraded => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        logger.Log(level, "Readiness changed from {Previous} to {Status}{Why}", previous.ToString().ToLowerInvariant(), report.Status.ToString().ToLowerInvariant(), why.Length == 0 ? "" : $": {why}");
    }
}
