using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Status;

namespace Wattstream.Server.Status;

public sealed class StatusOptions
{
    public const string SectionName = "Status";

    /// <summary>A DER silent this long is STALE (the devices send no heartbeats, so silence is the only sign).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(60);

    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Feeds the status board: every accepted reading marks its DER seen; a sweep marks silent DERs stale.</summary>
public sealed class StatusTracker(TelemetryHub hub, StatusBoard board, IOptions<StatusOptions> options, TimeProvider time) : BackgroundService
{
    private HubSubscription? _subscription;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before the simulator's first step so no DER is missed, and take what the hub already holds.
        _subscription = hub.Subscribe(SubjectPattern.All, new SubscribeOptions { ResumeAfter = 0, QueueCapacity = 65_536 });
        return base.StartAsync(cancellationToken);
    }

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
