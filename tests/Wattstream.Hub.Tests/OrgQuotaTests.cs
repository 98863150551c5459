using static Wattstream.Hub.Tests.Readings;

namespace Wattstream.Hub.Tests;

public class OrgQuotaTests
{
    [Fact]
    public void An_org_past_its_der_quota_is_refused_while_another_org_is_admitted()
    {
        var quotas = new OrgQuotas(new HubOptions { MaxDersPerOrg = 2 });

        Assert.Null(quotas.Admit(Der("m1", org: "o1")));
        Assert.Null(quotas.Admit(Der("m2", org: "o1")));
        var refusal = quotas.Admit(Der("m3", org: "o1"));

        Assert.NotNull(refusal);
        Assert.Contains("'o1'", refusal, StringComparison.Ordinal);
        Assert.Contains("Hub:MaxDersPerOrg", refusal, StringComparison.Ordinal);
        Assert.Null(quotas.Admit(Der("m1", org: "o2")));
        Assert.Null(quotas.Admit(Der("m2", org: "o2")));
    }

    [Fact]
    public void An_org_past_its_site_quota_is_refused_a_new_site_but_not_a_der_on_a_site_it_has()
    {
        var quotas = new OrgQuotas(new HubOptions { MaxSitesPerOrg = 1 });

        Assert.Null(quotas.Admit(Der("m1", site: "s1", org: "o1")));
        Assert.Null(quotas.Admit(Der("m2", site: "s1", org: "o1")));
        var refusal = quotas.Admit(Der("m3", site: "s2", org: "o1"));

        Assert.NotNull(refusal);
        Assert.Contains("Hub:MaxSitesPerOrg", refusal, StringComparison.Ordinal);
        Assert.Null(quotas.Admit(Der("m3", site: "s2", org: "o2")));
    }

    [Fact]
    public void The_hub_wide_limit_counts_every_org_and_a_refused_der_is_not_counted()
    {
        var quotas = new OrgQuotas(new HubOptions { MaxDers = 3, MaxDersPerOrg = 2 });

        Assert.Null(quotas.Admit(Der("m1", org: "o1")));
        Assert.Null(quotas.Admit(Der("m2", org: "o1")));
        Assert.NotNull(quotas.Admit(Der("m3", org: "o1"))); // o1's own quota; this one takes no place in the hub's
        Assert.Null(quotas.Admit(Der("m1", org: "o2")));
        var refusal = quotas.Admit(Der("m2", org: "o3"));

        Assert.NotNull(refusal);
        Assert.Contains("Hub:MaxDers)", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_check_counts_repeats_once_and_admits_nothing()
    {
        var quotas = new OrgQuotas(new HubOptions { MaxDersPerOrg = 3, MaxSitesPerOrg = 2 });
        Assert.Null(quotas.Admit(Der("m1", site: "s1", org: "o1")));

        Assert.Null(quotas.Check([Der("m2", org: "o1"), Der("m2", org: "o1"), Der("m3", org: "o1")]));
        Assert.Contains("Hub:MaxDersPerOrg", quotas.Check([Der("m2", org: "o1"), Der("m3", org: "o1"), Der("m4", org: "o1")]), StringComparison.Ordinal);
        Assert.Contains("Hub:MaxSitesPerOrg", quotas.Check([Der("x", site: "s2", org: "o1"), Der("y", site: "s3", org: "o2"), Der("z", site: "s3", org: "o1")]), StringComparison.Ordinal);

        // None of the checks above counted anything: o1 still has room for two more DERs and one more site.
        Assert.Null(quotas.Admit(Der("m2", site: "s1", org: "o1")));
        Assert.Null(quotas.Admit(Der("m3", site: "s2", org: "o1")));
        Assert.NotNull(quotas.Admit(Der("m4", site: "s1", org: "o1")));
    }

    [Fact]
    public void A_batch_past_the_hub_wide_limit_is_refused_though_every_org_is_within_its_own()
    {
        var quotas = new OrgQuotas(new HubOptions { MaxDers = 2 });

        Assert.Null(quotas.Check([Der("m1", org: "o1"), Der("m1", org: "o2")]));
        Assert.Contains("Hub:MaxDers)", quotas.Check([Der("m1", org: "o1"), Der("m1", org: "o2"), Der("m1", org: "o3")]), StringComparison.Ordinal);
    }
}
