using Wattstream.Hub;
using Wattstream.Streaming.Access;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Tests;

public class TelemetryScopeTests
{
    private static readonly TelemetryScope AcmeSite1 = TelemetryScope.Granted("t", new HashSet<string> { "acme" }, new HashSet<string> { "site-1" });

    [Fact]
    public void A_grant_sees_its_orgs_and_sites_only()
    {
        Assert.True(AcmeSite1.CanSee(new DerAddress("acme", "site-1", "d", "m")));
        Assert.False(AcmeSite1.CanSee(new DerAddress("acme", "site-2", "d", "m")));
        Assert.False(AcmeSite1.CanSee(new DerAddress("globex", "site-1", "d", "m")));
        Assert.False(AcmeSite1.SeesEverything);

        var everySiteOfAcme = TelemetryScope.Granted("t", new HashSet<string> { "acme" }, null);
        Assert.True(everySiteOfAcme.CanSee(new DerAddress("acme", "site-9", "d", "m")));
        Assert.False(everySiteOfAcme.CanSee(new DerAddress("globex", "site-9", "d", "m")));
        Assert.True(TelemetryScope.Granted("t", null, null).SeesEverything);
        Assert.False(TelemetryScope.Nothing.CanSee(new DerAddress("acme", "site-1", "d", "m")));
    }

    [Theory]
    [InlineData(">", true)]
    [InlineData("orgs.>", true)]
    [InlineData("orgs.*.sites.*.>", true)]
    [InlineData("orgs.acme.>", true)]
    [InlineData("orgs.acme.sites.site-1.devices.*.ders.*.telemetry.json.v1", true)]
    [InlineData("*.*.*.site-1.>", true)]
    [InlineData("orgs.globex.>", false)]
    [InlineData("orgs.acme.sites.site-2.>", false)]
    [InlineData("orgs.*.sites.site-2.>", false)]
    [InlineData("sites.>", false)]
    public void A_subscription_that_can_match_nothing_in_the_grant_is_recognised(string pattern, bool couldSee) =>
        Assert.Equal(couldSee, AcmeSite1.CouldSee(SubjectPattern.Parse(pattern)));

    [Fact]
    public void Everything_and_a_nothing_scope_answer_as_expected()
    {
        Assert.True(TelemetryScope.Everything.CouldSee(SubjectPattern.Parse("orgs.globex.>")));
        Assert.False(TelemetryScope.Nothing.CouldSee(SubjectPattern.All));
    }
}
