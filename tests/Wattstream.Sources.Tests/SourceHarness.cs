using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Hub;
using Wattstream.Hub.Status;

namespace Wattstream.Sources.Tests;

/// <summary>A hub, a status board and one running source, as the host wires them.</summary>
internal sealed class SourceHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public SourceHarness(SourceOptions options, SourceTimingOptions? timing = null)
    {
        Timing = timing ?? new SourceTimingOptions { BackoffBase = TimeSpan.FromMilliseconds(50), BackoffCap = TimeSpan.FromMilliseconds(300), IdleTimeout = TimeSpan.FromSeconds(10) };
        var host = new SourceHost([options], Hub, Statuses, Timing, TimeProvider.System, NullLoggerFactory.Instance);
        Source = host.Sources[0];
        StatusChanges = Statuses.Subscribe();
        _run = Task.Run(() => Source.RunAsync(_stop.Token));
    }

    public TelemetryHub Hub { get; } = new();

    public StatusBoard Statuses { get; } = new(TimeSpan.FromMinutes(5));

    public DropOldestQueue<DerStatus> StatusChanges { get; }

    public SourceTimingOptions Timing { get; }

    public TelemetrySource Source { get; }

    public async Task<List<HubEvent>> ReadingsAsync(int count, TimeSpan? timeout = null, HubSubscription? from = null)
    {
        using var sub = from is null ? Hub.Subscribe(SubjectPattern.All, new SubscribeOptions { ResumeAfter = 0 }) : null;
        var source = from ?? sub!;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var events = new List<HubEvent>();
        await foreach (var e in source.ReadAllAsync(cts.Token))
        {
            events.Add(e);
            if (events.Count == count)
            {
                break;
            }
        }

        return events;
    }

    /// <summary>Waits until the source reaches <paramref name="status"/>.</summary>
    public async Task WaitForStatusAsync(ConnectionStatus status, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (Source.State.Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the source is {Source.State.Status} ({Source.State.LastError}), not {status}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        StatusChanges.Dispose();
        _stop.Dispose();
    }
}
