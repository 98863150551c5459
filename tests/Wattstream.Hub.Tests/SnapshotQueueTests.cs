using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Hub.Tests;

/// <summary>What a subscriber gets at the start waits outside the queue's bound: never dropped, and counted until read.</summary>
public class SnapshotQueueTests
{
    [Fact]
    public void A_status_snapshot_larger_than_the_queue_arrives_whole_and_then_changes_follow()
    {
        var board = new StatusBoard(TimeSpan.FromMinutes(1));
        var at = DateTimeOffset.UtcNow;
        for (var i = 0; i < 5_000; i++)
        {
            board.ReadingSeen(new DerAddress("o", "s", "d", $"m{i}"), DerType.Meter, at);
        }

        using var subscription = board.Subscribe(s => s.Der.Der != "m7", capacity: 16);
        Assert.Equal(4_999, subscription.SnapshotRemaining);
        board.Set(new DerAddress("o", "s", "d", "m1"), DerType.Meter, ConnectionStatus.Disconnected);

        var read = new List<DerStatus>();
        while (subscription.TryRead(out var status))
        {
            read.Add(status);
        }

        Assert.Equal(0, subscription.Dropped);
        Assert.Equal(0, subscription.SnapshotRemaining);
        Assert.Equal(5_000, read.Count);
        Assert.DoesNotContain(read, s => s.Der.Der == "m7");
        Assert.Equal(ConnectionStatus.Disconnected, read[^1].Status);
    }

    [Fact]
    public void Last_values_count_as_the_snapshot_until_read()
    {
        var hub = new TelemetryHub();
        for (var i = 0; i < 100; i++)
        {
            hub.Publish(new Reading(new DerAddress("o", "s", "d", $"p{i}"), DerType.Pv, 1, null, []));
        }

        using var subscription = hub.Subscribe("orgs.>", new SubscribeOptions { StartWithLastValues = true, QueueCapacity = 4 });
        Assert.Equal(100, subscription.SnapshotRemaining);
        Assert.True(subscription.TryRead(out _));
        Assert.Equal(99, subscription.SnapshotRemaining);
    }
}
