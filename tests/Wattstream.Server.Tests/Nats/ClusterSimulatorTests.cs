using Wattstream.Hub;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Simulation;
using Wattstream.Telemetry;

namespace Wattstream.Server.Tests;

/// <summary>
/// The built-in simulator is the cluster job <c>simulator</c>: when it moves to another node, the site goes on where it
/// was — its energy registers continue from the last readings instead of stepping back to the seed's start values
/// (energy insights would read a register that steps back as a meter replaced).
/// </summary>
public sealed class ClusterSimulatorTests : IAsyncLifetime
{
    private NatsServer _nats = null!;
    private ClusterNodes _nodes = null!;

    public async Task InitializeAsync()
    {
        _nats = await NatsServer.StartAsync();
        _nodes = new ClusterNodes(_nats.Url, "--Simulation:Enabled=true", "--Simulation:Seed=3", "--Simulation:Sites=1", "--Nats:LeaseTtl=00:00:02");
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }

    // Energy the site drew, from wherever: grid import, PV generation, battery discharge. Each is a register that only
    // grows, and the site's load always comes from one of them, so the sum grows at any hour (night, sun or battery).
    private static double? DrawnWh(WattstreamHost node)
    {
        var hub = node.Service<TelemetryHub>();
        var readings = hub.Ders.Select(d => hub.GetLast(d.Address)?.Reading).ToArray();
        if (readings.Length < 3 || readings.Any(r => r is null))
        {
            return null;
        }

        return readings.Sum(r => (r!.Get(Quantity.EnergyImport, Unit.WattHour) ?? 0)
            + (r.Type == DerType.Pv ? r.Get(Quantity.EnergyGenerated, Unit.WattHour) ?? 0 : 0)
            + (r.Type == DerType.Battery ? r.Get(Quantity.EnergyDischarged, Unit.WattHour) ?? 0 : 0));
    }

    private static (long Oldest, long Newest) Timestamps(WattstreamHost node)
    {
        var hub = node.Service<TelemetryHub>();
        var timestamps = hub.Ders.Select(d => hub.GetLast(d.Address)?.Reading.Timestamp ?? 0).DefaultIfEmpty(0).ToArray();
        return (timestamps.Min(), timestamps.Max());
    }

    private static bool RunsSimulator(WattstreamHost node) => node.Service<ClusterNode>().Owned.Contains(SimulatorService.JobKey);

    [Fact]
    public async Task The_simulator_moving_to_another_node_goes_on_from_the_last_readings_without_stepping_its_registers_back()
    {
        WattstreamHost[] nodes = [await _nodes.StartAsync("node-a"), await _nodes.StartAsync("node-b")];
        await Eventually.UntilAsync(() => nodes.Any(RunsSimulator), "a node to run the simulator");
        var owner = nodes.First(RunsSimulator);
        var other = nodes.First(n => n != owner);

        // The owner simulates for a while; the other node sees its readings through the stream.
        await Eventually.UntilAsync(() => DrawnWh(other) is not null, "the other node to see every simulated DER");
        var start = DrawnWh(other)!.Value;
        // A few Wh more than a fresh simulator's first step could add, so a step back cannot hide in it.
        await Eventually.UntilAsync(() => DrawnWh(other) > start + 3, "the site's registers to grow", TimeSpan.FromSeconds(90));

        // The owner stops (its lease handed on at once); the other node takes the job and goes on from what it saw.
        var before = DrawnWh(other)!.Value;
        await owner.DisposeAsync();
        await Eventually.UntilAsync(() => RunsSimulator(other), "the other node to take the simulator over");
        var seen = Timestamps(other).Newest;
        await Eventually.UntilAsync(() => Timestamps(other).Oldest > seen, "the new owner's first reading of every DER");

        // A fresh simulator with the same seed would start from the registers the owner began with: below these.
        var after = DrawnWh(other)!.Value;
        Assert.True(after >= before, $"the site's registers stepped back from {before} Wh to {after} Wh at the move (first seen: {start} Wh)");
    }
}
