using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Simulation;

namespace Wattstream.Server.Simulation;

/// <summary>Steps the built-in simulator on its interval and publishes every reading to the hub.</summary>
public sealed class SimulatorService(TelemetryHub hub, IOptions<SimulationOptions> options, TimeProvider time, ILogger<SimulatorService> logger)
    : BackgroundService
{
    private readonly SimulationOptions _options = options.Value;

    public SiteSimulator? Simulator { get; private set; }

    public bool Enabled => _options.Enabled ?? true;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return Task.CompletedTask;
        }

        Simulator = new SiteSimulator(_options, time.GetUtcNow());

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
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Publish(time.GetUtcNow());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Publish(DateTimeOffset now)
    {
        foreach (var reading in Simulator!.Step(now))
        {
            hub.Publish(reading);
        }
    }
}
