using BenchmarkDotNet.Attributes;
using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Benchmarks;

/// <summary>
/// Publish → deliver through the hub: one meter's readings offered to N subscribers of that meter, each of which
/// takes every event from its queue. One operation is one published reading, so deliveries/s = N / (time per op).
/// The readings are made beforehand: building a reading is the source's cost, not the hub's.
/// </summary>
[MemoryDiagnoser]
public class HubFanOutBenchmark
{
    private const int Batch = 64;
    private TelemetryHub _hub = null!;
    private HubSubscription[] _subscriptions = null!;
    private Reading[] _readings = null!;
    private int _next;

    [Params(1, 100, 1000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The dedup window is smaller than the pool, so a recycled timestamp counts as an (accepted) late reading.
        _hub = new TelemetryHub(new HubOptions { SubscriberQueueCapacity = 1024, DedupWindow = 1024, ReplayCapacity = 4096 });
        var der = new DerAddress("o", "s", "d", "m");
        _readings = Enumerable.Range(1, 8192)
            .Select(t => new Reading(der, DerType.Meter, t, null, [new Measurement(Quantity.ActivePower, t, Unit.Watt)]))
            .ToArray();
        _subscriptions = Enumerable.Range(0, Subscribers).Select(_ => _hub.Subscribe(der.Subject)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var s in _subscriptions)
        {
            s.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long PublishAndDeliver()
    {
        for (var i = 0; i < Batch; i++)
        {
            _hub.Publish(_readings[_next]);
            _next = (_next + 1) & 8191;
        }

        long delivered = 0;
        foreach (var s in _subscriptions)
        {
            while (s.TryRead(out _))
            {
                delivered++;
            }
        }

        return delivered;
    }
}
