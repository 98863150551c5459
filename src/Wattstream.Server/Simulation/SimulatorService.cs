using Microsoft.Extensions.Options;
using Wattstream.Energy;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;
using Wattstream.Simulation;

namespace Wattstream.Server.Simulation;

/// <summary>
/// Steps the built-in simulator on its interval and publishes every reading to the hub. It is a job (<c>simulator</c>):
/// a single node runs it from the start; in a cluster only the node holding its lease steps, so the demo site is
/// simulated once however many nodes carry the same settings, and moves to another node with its lease.
/// </summary>
public sealed class SimulatorService(TelemetryHub hub, IJobOwnership jobs, IOptions<SimulationOptions> options, IOptions<SitesOptions> sites, TimeProvider time, ILogger<SimulatorService> logger)
    : IHostedService, IAsyncDisposable
{
    /// <summary>The simulator's job key.</summary>
    public const string JobKey = "simulator";

    private readonly SimulationOptions _options = options.Value;
    private IAsyncDisposable? _job;
    private DateTimeOffset _last = DateTimeOffset.MinValue;

    public SiteSimulator? Simulator { get; private set; }

    public bool Enabled => _options.Enabled ?? true; // resolved at start: on when no sources are configured

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        Simulator = new SiteSimulator(_options, time.GetUtcNow(), ImportPrice);
        if (jobs is LocalJobs)
        {
            // The first step runs before the server listens, so every simulated DER is known to the first client.
            Step(time.GetUtcNow());
        }

        logger.LogInformation(
            "Simulator: {Sites} sites under org '{Org}', a reading per DER every {Interval} (seed {Seed}); runs on {Runs}",
            Simulator.Sites.Count, _options.Org, _options.Interval, Simulator.Seed, jobs is LocalJobs ? "this node" : "the node holding its lease");
        _job = await jobs.RunWhileOwnedAsync(JobKey, RunAsync, cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _job, null) is { } job)
        {
            await job.DisposeAsync();
        }
    }

    private async Task RunAsync(CancellationToken owned)
    {
        // A node taking the job over goes on from the last readings every node has (the cluster's feed) and steps at
        // once: the site continues where the last owner left it, registers and all, not an interval later.
        if (jobs is not LocalJobs)
        {
            Simulator!.ContinueFrom(der => hub.GetLast(der)?.Reading);
        }

        Step(time.GetUtcNow());
        using var timer = new PeriodicTimer(_options.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(owned))
            {
                Step(time.GetUtcNow());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // A timer that fell behind (a slow first step, a paused machine) fires its missed tick at once, and a job that just
    // started follows the start-up step; a device would not report twice within milliseconds, so such a step is skipped.
    private void Step(DateTimeOffset now)
    {
        if (now - _last < _options.Interval / 2)
        {
            return;
        }

        _last = now;
        foreach (var reading in Simulator!.Step(now))
        {
            hub.Publish(reading);
        }
    }

    // A prepaid meter pays what the dashboard's cost uses: the site's tariff at the site's local time (none: nothing).
    private double ImportPrice(string siteId, DateTimeOffset time) =>
        sites.Value.Find(siteId) is { Tariff: { } tariff } site
            ? tariff.ImportPriceAt(TimeZoneInfo.ConvertTime(time, site.ResolveTimeZone()).DateTime)
            : 0;
}
