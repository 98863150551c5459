using Microsoft.Extensions.Options;
using Wattstream.Energy;
using Wattstream.Hub;
using Wattstream.Simulation;

namespace Wattstream.Server.Simulation;

/// <summary>Steps the built-in simulator on its interval and publishes every reading to the hub.</summary>
public sealed class SimulatorService(TelemetryHub hub, IOptions<SimulationOptions> options, IOptions<SitesOptions> sites, TimeProvider time, ILogger<SimulatorService> logger)
    : BackgroundService
{
    private readonly SimulationOptions _options = options.Value;

    public SiteSimulator? Simulator { get; private set; }

    public bool Enabled => _options.Enabled ?? true; // resolved at start: on when no sources are configured

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return Task.CompletedTask;
        }

        Simulator = new SiteSimulator(_options, time.GetUtcNow(), ImportPrice);

        // The first step runs before the server listens, so every simulated DER is known to the first client.
        Publish(time.GetUtcNow());
        logger.LogInformation(
            "Simulator: {Sites} sites under org '{Org}', a reading per DER every {Interval} (seed {Seed})",
            Simulator.Sites.Count, _options.Org, _options.Interval, Simulator.Seed);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Simulator is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.Interval, time);
        try
        {
            var last = time.GetUtcNow();
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A timer that fell behind (a slow first step, a paused machine) fires its missed tick at once; a
                // device would not report twice within milliseconds, so such a tick is skipped.
                var now = time.GetUtcNow();
                if (now - last < _options.Interval / 2)
                {
                    continue;
                }

                last = now;
                Publish(now);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // A prepaid meter pays what the dashboard's cost uses: the site's tariff at the site's local time (none: nothing).
    private double ImportPrice(string siteId, DateTimeOffset time) =>
        sites.Value.Find(siteId) is { Tariff: { } tariff } site
            ? tariff.ImportPriceAt(TimeZoneInfo.ConvertTime(time, site.ResolveTimeZone()).DateTime)
            : 0;

    private void Publish(DateTimeOffset now)
    {
        foreach (var reading in Simulator!.Step(now))
        {
            hub.Publish(reading);
        }
    }
}
