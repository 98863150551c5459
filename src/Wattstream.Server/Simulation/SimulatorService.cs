using Microsoft.Extensions.Options;
using Wattstream.Energy;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;
using Wattstream.Simulation;
using Wattstream.Telemetry;

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
        // The last owner's readings are all in the stream (it waited for each step's to be stored), so once this hub has
        // been delivered what the stream holds, its last values are the last owner's last readings.
        if (jobs is not LocalJobs)
        {
            if (!await hub.CatchUpWithLogAsync(TimeSpan.FromSeconds(5), owned))
            {
                logger.LogWarning("Simulator: taking over before this node has read the whole readings stream; the site may step back a little");
            }

            Simulator!.ContinueFrom(der => hub.GetLast(der)?.Reading);
        }

        await StepAsync(time.GetUtcNow());
        using var timer = new PeriodicTimer(_options.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(owned))
            {
                await StepAsync(time.GetUtcNow());
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
        foreach (var reading in Due(now))
        {
            hub.Publish(reading);
        }
    }

    // Cluster mode: a step ends once the stream stored its readings, so a job that ends has none in flight and the next
    // owner can continue from them. While NATS is away a reading is queued as any other (the log sends it later).
    private async Task StepAsync(DateTimeOffset now)
    {
        if (jobs is LocalJobs)
        {
            Step(now);
            return;
        }

        await Task.WhenAll(Due(now).Select(StoreAsync));
    }

    private IEnumerable<Reading> Due(DateTimeOffset now)
    {
        if (now - _last < _options.Interval / 2)
        {
            return [];
        }

        _last = now;
        return Simulator!.Step(now);
    }

    private async Task StoreAsync(Reading reading)
    {
        try
        {
            await hub.PublishAsync(reading);
        }
        catch (Exception e) when (e is not OperationCanceledException)
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
