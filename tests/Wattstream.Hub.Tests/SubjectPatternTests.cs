namespace Wattstream.Hub.Tests;

public class SubjectPatternTests
{
    private const string Subject = "orgs.o1.sites.s1.devices.d1.ders.m1.telemetry.json.v1";

    [Theory]
    [InlineData(Subject, true)]
    [InlineData("orgs.o1.sites.*.devices.*.ders.*.telemetry.json.v1", true)]
    [InlineData("orgs.o1.>", true)]
    [InlineData(">", true)]
    [InlineData("orgs.*.sites.s1.>", true)]
    [InlineData("orgs.o2.>", false)]
    [InlineData("orgs.o1.sites.s2.devices.*.ders.*.telemetry.json.v1", false)]
    [InlineData("orgs.o1.sites.*.devices.*.ders.*.telemetry.json", false)] // one token short
    [InlineData("orgs.o1.sites.*.devices.*.ders.*.telemetry.json.v1.extra", false)] // one token long
    [InlineData("orgs.o1.sites.s1.devices.d1.ders.m1.telemetry.json.v1.>", false)] // '>' needs at least one more token
    [InlineData("*.*.*.*.*.*.*.*.*.*.*", true)]
    [InlineData("*.*.*.*.*.*.*.*.*.*", false)]
    [InlineData("orgs.o1.sites.s1.devices.d1.ders.m.telemetry.json.v1", false)] // a prefix of a token is not the token
    public void Matches_with_nats_wildcard_semantics(string pattern, bool matches)
    {
        Assert.Equal(matches, SubjectPattern.Parse(pattern).Matches(Subject));
    }

    [Theory]
    [InlineData("")]
    [InlineData("orgs..sites")]
    [InlineData("orgs.>.sites")]
    [InlineData("orgs.a b")]
    [InlineData("orgs.a*")]
    [InlineData(".orgs")]
    [InlineData("orgs.")]
    public void Rejects_malformed_patterns(string pattern)
    {
        Assert.False(SubjectPattern.TryParse(pattern, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Literal_patterns_are_recognised()
    {
        Assert.True(SubjectPattern.Parse(Subject).IsLiteral);
        Assert.False(SubjectPattern.Parse("orgs.*.x").IsLiteral);
        Assert.False(SubjectPattern.Parse("orgs.>").IsLiteral);
    }
}
