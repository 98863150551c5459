using Wattstream.Storage.Alerts;

namespace Wattstream.Storage.Tests;

/// <summary>
/// The memory store as a cluster node's alert history: an alert that comes with an id (the cluster's stream sequence)
/// keeps it, and one without continues after the largest.
/// </summary>
public class MemoryAlertIdsTests
{
    private static StoredAlert Alert(long id, long at) => new(id, "lv", "low_voltage", "firing", "acme", "home", "gw/m1", at, "{}"u8.ToArray());

    [Fact]
    public async Task An_alert_with_an_id_keeps_it_and_one_without_continues_after_the_largest()
    {
        var store = new MemoryAlertStore();

        Assert.Equal(41, await store.AppendAsync(Alert(41, 1)));
        Assert.Equal(57, await store.AppendAsync(Alert(57, 2)));
        Assert.Equal(58, await store.AppendAsync(Alert(0, 3)));

        var listed = await store.QueryAsync(new AlertQuery { AfterId = 41 });
        Assert.Equal([57L, 58L], listed.Select(a => a.Id));
    }
}
