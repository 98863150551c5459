using Wattstream.Telemetry;
using static Wattstream.Hub.Tests.Readings;

namespace Wattstream.Hub.Tests;

public class LastValuesTests
{
    private long _nextId;

    private HubEvent Take(DerState der, long timestamp)
    {
        var e = new HubEvent(7, ++_nextId, Meter(der.Address, timestamp));
        der.TakeIfNewest(e);
        return e;
    }

    [Fact]
    public void Ders_are_found_by_address_and_listed_in_the_order_first_seen()
    {
        var values = new LastValues();
        var b = Der("b", site: "s2");
        var a = Der("a", site: "s1");
        values.Add(b, DerType.Battery, 4);
        values.Add(a, DerType.Meter, 4);

        Assert.Equal(2, values.Count);
        Assert.True(values.Contains(Der("a", site: "s1")));
        Assert.False(values.Contains(Der("a", site: "s2")));
        Assert.True(values.TryGet(Der("b", site: "s2"), out var state));
        Assert.Equal(DerType.Battery, state.Type);
        Assert.Equal([(b, DerType.Battery), (a, DerType.Meter)], values.Ders());
    }

    [Fact]
    public void A_snapshot_of_one_site_holds_that_sites_last_values_only_in_first_seen_order()
    {
        var values = new LastValues();
        var other = values.Add(Der("x", site: "s2"), DerType.Meter, 4);
        var second = values.Add(Der("m2", site: "s1"), DerType.Meter, 4);
        var silent = values.Add(Der("m3", site: "s1"), DerType.Meter, 4); // no reading yet: no last value
        var first = values.Add(Der("m1", site: "s1"), DerType.Meter, 4);
        var otherOrg = values.Add(Der("m1", site: "s1", org: "o2"), DerType.Meter, 4);
        Take(other, 1);
        Take(first, 1);
        var secondLast = Take(second, 2);
        Take(second, 1); // older: the last value stays
        var firstLast = Take(first, 3);
        Take(otherOrg, 1);

        var site = SubjectPattern.Parse("orgs.o1.sites.s1.>");
        Assert.Equal([secondLast, firstLast], values.Snapshot(site, filter: null));
        Assert.Equal([firstLast], values.Snapshot(site, e => e.Reading.Der.Der == "m1"));
        Assert.Null(silent.Last);
    }

    [Fact]
    public void A_snapshot_or_match_by_wildcard_looks_at_every_site()
    {
        var values = new LastValues();
        var s1 = Take(values.Add(Der("m1", site: "s1"), DerType.Meter, 4), 1);
        var s2 = Take(values.Add(Der("m1", site: "s2"), DerType.Meter, 4), 1);
        Take(values.Add(Der("m1", site: "s3", org: "o2"), DerType.Meter, 4), 1);

        var org = SubjectPattern.Parse("orgs.o1.>");
        Assert.Equal([s1, s2], values.Snapshot(org, filter: null));
        Assert.Equal([s1, s2], values.Matching(org));
        Assert.Equal(3, values.Matching(SubjectPattern.All).Count);
    }
}
