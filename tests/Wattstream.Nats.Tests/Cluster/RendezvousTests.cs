using Wattstream.Nats.Cluster;

namespace Wattstream.Nats.Tests;

public sealed class RendezvousTests
{
    private static readonly string[] Keys = [.. Enumerable.Range(0, 3000).Select(i => $"source:meter-{i}")];

    private static Dictionary<string, string> Owners(params string[] nodes) => Keys.ToDictionary(k => k, k => Rendezvous.Owner(k, nodes)!);

    [Fact]
    public void The_owner_is_the_same_whatever_the_order_of_the_nodes()
    {
        Assert.Equal(Owners("a", "b", "c"), Owners("c", "a", "b"));
        Assert.Equal(Rendezvous.Weight("site:acme/plant", "node-a"), Rendezvous.Weight("site:acme/plant", "node-a"));
        Assert.NotEqual(Rendezvous.Weight("site:acme/plant", "node-a"), Rendezvous.Weight("site:acme/plant", "node-b"));
        Assert.Null(Rendezvous.Owner("source:x", []));
    }

    [Fact]
    public void Each_node_gets_about_its_share()
    {
        var shares = Owners("node-a", "node-b", "node-c").GroupBy(o => o.Value).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(3, shares.Count);
        Assert.All(shares.Values, count => Assert.InRange(count, 800, 1200)); // a third of 3000, give or take
    }

    [Fact]
    public void A_node_leaving_moves_only_its_own_keys()
    {
        var before = Owners("node-a", "node-b", "node-c");
        var after = Owners("node-a", "node-b");

        var moved = Keys.Where(k => before[k] != after[k]).ToList();
        Assert.NotEmpty(moved);
        Assert.All(moved, k => Assert.Equal("node-c", before[k]));
        Assert.All(Keys.Where(k => before[k] == "node-c"), k => Assert.Contains(k, moved));
    }

    [Fact]
    public void A_node_joining_takes_only_keys_from_others_and_about_its_share()
    {
        var before = Owners("node-a", "node-b", "node-c");
        var after = Owners("node-a", "node-b", "node-c", "node-d");

        var moved = Keys.Where(k => before[k] != after[k]).ToList();
        Assert.All(moved, k => Assert.Equal("node-d", after[k])); // nothing moves between the old nodes
        Assert.InRange(moved.Count, 550, 950); // about a quarter
    }

    [Theory]
    [InlineData("source:meter-1", "source=3Ameter-1")]
    [InlineData("site:acme/plant", "site=3Aacme/plant")]
    [InlineData("a.b=c d", "a=2Eb=3Dc=20d")]
    [InlineData("zähler", "z=C3=A4hler")]
    public void Job_keys_become_valid_kv_keys_and_back(string key, string encoded)
    {
        Assert.Equal(encoded, ClusterBuckets.Encode(key));
        Assert.Equal(key, ClusterBuckets.Decode(encoded));
        Assert.Matches("^[-/_=A-Za-z0-9]+$", ClusterBuckets.Encode(key));
    }
}
