using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Wattstream.Alerts;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Rules;
using Wattstream.Alerts.Webhooks;
using Wattstream.Server.Composition;
using Wattstream.Simulation;
using Wattstream.Storage.Alerts;

namespace Wattstream.Server.Alerts;

/// <summary>
/// Alerts: the rule set (configuration, the example set for the simulator, the API's rules in the history store),
/// evaluation in the hub, the alert feed every transport reads, and webhooks.
/// </summary>
public static class AlertSetup
{
    public static IServiceCollection AddWattstreamAlerts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<AlertsOptions>(configuration, AlertsOptions.SectionName);
        services.AddValidatedOptions<WebhookDeliveryOptions>(configuration, WebhookDeliveryOptions.SectionName);

        // The history database's (registered with the store, before this); memory when history is off.
        services.TryAddSingleton<IAlertStore>(_ => new MemoryAlertStore());
        // The API's rules in that store; in cluster mode AddWattstreamNats puts them in a KV bucket instead.
        services.AddSingleton<IAlertRuleStore>(sp => new DatabaseAlertRules(sp.GetRequiredService<IAlertStore>()));
        services.AddSingleton(sp => new AlertRuleSet(
            sp.GetRequiredService<IAlertRuleStore>(),
            FixedRules(sp.GetRequiredService<IOptions<AlertsOptions>>().Value, sp.GetRequiredService<IOptions<SimulationOptions>>().Value),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AlertRuleSet>>()));
        services.AddSingleton<AlertFeed>();
        services.AddSingleton<AlertBudget>();
        services.AddSingleton<AlertService>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertService>());
        services.AddAlertWebhookClient();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }

    /// <summary>
    /// Cluster mode (<c>Nats:Cluster</c>): alerts go through the <c>ALERTS</c> stream, whose sequences are their ids on every
    /// node, and each site's alerts are evaluated by the owner of its job, which also calls the webhooks and records how far
    /// each got (<see cref="ClusterWebhookDeliveries"/>). Registered after the cluster node, whose
    /// connection it uses from its start.
    /// </summary>
    public static IServiceCollection AddClusterAlerts(this IServiceCollection services)
    {
        services.AddSingleton<ClusterAlertStream>();
        services.AddSingleton<IAlertStream>(sp => sp.GetRequiredService<ClusterAlertStream>());
        services.AddHostedService(sp => sp.GetRequiredService<ClusterAlertStream>());
        // Webhook cursors and dead letters the cluster shares: a site's next owner continues its deliveries.
        services.AddSingleton<ClusterWebhookDeliveries>();
        services.AddSingleton<IWebhookDeliveryLedger>(sp => sp.GetRequiredService<ClusterWebhookDeliveries>());
        services.AddHostedService(sp => sp.GetRequiredService<ClusterWebhookDeliveries>());
        return services;
    }

    // Configuration's rules, then the example set (on by default while the simulator runs) unless configuration took its ids.
    private static List<AlertRule> FixedRules(AlertsOptions options, SimulationOptions simulation)
    {
        var rules = options.Rules.Select(r =>
        {
            var copy = r.Copy();
            copy.Source = AlertRuleSet.ConfigSource;
            return copy;
        }).ToList();
        if (options.ExampleRules ?? simulation.Enabled == true)
        {
            rules.AddRange(ExampleRules.For(simulation.Org, simulation.Latitude, simulation.Longitude).Where(e => rules.All(r => r.Id != e.Id)));
        }

        return rules;
    }
}
