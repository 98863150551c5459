using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Wattstream.Server.Simulation;
using Wattstream.Sources;
using Wattstream.Storage;

namespace Wattstream.Server.Health;

/// <summary>
/// <c>/readyz</c>: ready to serve — the store answers, something feeds the hub (the simulator runs or the sources
/// started), and the hub is not draining for shutdown. ASP.NET Core's health checks, one per dependency, each named in
/// the JSON answer; 503 while any is unhealthy. <c>/healthz</c> stays the plain "alive" answer.
/// </summary>
public static class Readiness
{
    public const string Tag = "ready";

    public static IServiceCollection AddReadiness(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DrainingCheck>("draining", tags: [Tag])
            .AddCheck<FeedsCheck>("feeds", tags: [Tag])
            .AddCheck<StoreCheck>("store", tags: [Tag]);
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

    private sealed class FeedsCheck(SimulatorService simulator, SourceHost sources) : IHealthCheck
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

            var started = simulator.Simulator is not null || statuses.Length > 0;
            return Task.FromResult(started
                ? HealthCheckResult.Healthy(string.Join("; ", parts))
                : HealthCheckResult.Unhealthy("nothing feeds the hub: no simulator, no source"));
        }
    }

    private sealed class StoreCheck(IServiceProvider services) : IHealthCheck
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
            return Task.FromResult(status.LastError is null
                ? HealthCheckResult.Healthy($"{status.Store}: {status.Written} readings written, {status.Queued} queued")
                : HealthCheckResult.Unhealthy($"{status.Store}: {status.LastError}"));
        }
    }
}
