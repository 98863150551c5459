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
        services.AddSingleton(sp => new AlertRuleSet(
            sp.GetRequiredService<IAlertStore>(),
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
