using Microsoft.Extensions.Options;
using Wattstream.Energy;
using Wattstream.Energy.Summaries;
using Wattstream.Energy.Tariffs;
using Wattstream.Server.Composition;
using Wattstream.Simulation;

namespace Wattstream.Server.Energy;

/// <summary>Energy insights: per-site settings (time zone, tariff), the summary service and its board.</summary>
public static class EnergySetup
{
    public static IServiceCollection AddWattstreamEnergy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<EnergyOptions>(configuration, EnergyOptions.SectionName);
        services.AddOptions<SitesOptions>().Bind(configuration).ValidateDataAnnotations().ValidateOnStart()
            .PostConfigure<IOptions<SimulationOptions>>((sites, simulation) => AddSimulatedSites(sites, simulation.Value));
        services.AddSingleton<SummaryBoard>();
        services.AddSingleton<SummaryService>();
        services.AddHostedService(sp => sp.GetRequiredService<SummaryService>());
        return services;
    }

    // The simulator's sites get the simulator's time zone and a plausible Swiss tariff unless configured: the demo
    // shows real numbers (a weekday peak rate, a cheaper night and weekend, a feed-in price).
    private static void AddSimulatedSites(SitesOptions sites, SimulationOptions simulation)
    {
        if (simulation.Enabled != true)
        {
            return;
        }

        for (var i = 1; i <= simulation.Sites; i++)
        {
            var id = $"site-{i}";
            if (!sites.Sites.TryGetValue(id, out var site))
            {
                site = new SiteSettings();
                sites.Sites[id] = site;
            }

            site.TimeZone ??= simulation.TimeZone;
            site.Tariff ??= new Tariff
            {
                Currency = "CHF",
                Import = 0.26,
                FeedIn = 0.12,
                Schedule = [new TariffPeriod { Days = "Mon-Fri", From = "07:00", To = "20:00", Import = 0.34 }],
            };
        }
    }
}
