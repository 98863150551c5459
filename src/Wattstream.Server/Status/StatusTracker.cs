using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Status;

namespace Wattstream.Server.Status;

/// <summary>Feeds the status board: every accepted reading marks its DER seen; a sweep marks silent DERs stale.</summary>
/// <remarks>
/// It subscribes in <see cref="StartingAsync"/>, which every hosted service runs before any <c>StartAsync</c>, so no
/// DER is missed whatever order the publishers (simulator, sources) were registered in.
/// </remarks>
public sealed class StatusTracker(TelemetryHub hub, StatusBoard board, IOptions<StatusOptions> options, TimeProvider time) : BackgroundService, IHostedLifecycleService
{
    private HubSubscription? _subscription;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Also takes what the hub already holds.
        _subscription = hub.Subscribe(SubjectPattern.All, new SubscribeOptions { ResumeAfter = 0, QueueCapacity = 65_536 });
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = _subscription!;
        using var stop = stoppingToken.Register(subscription.Dispose);
        var sweep = Task.Run(() => SweepAsync(stoppingToken), CancellationToken.None);
        while (await subscription.WaitToReadAsync(CancellationToken.None)) // ended by disposing the subscription
        {
            var now = time.GetUtcNow();
            while (subscription.TryRead(out var e))
            {
                board.ReadingSeen(e.Reading.Der, e.Reading.Type, now);
            }
        }

        await sweep;
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                board.Sweep(time.GetUtcNow());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
