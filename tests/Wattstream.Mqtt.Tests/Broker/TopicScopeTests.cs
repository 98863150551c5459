using Wattstream.Mqtt.Broker;

namespace Wattstream.Mqtt.Tests.Broker;

public sealed class TopicScopeTests
{
    [Fact]
    public void A_devices_default_scope_is_its_formats_filters_at_its_own_level()
    {
        Assert.Equal(["tele/plug-1/#"], TopicScope.Default(["tele/+/SENSOR", "tele/+/LWT"], "plug-1").Filters);
        Assert.Equal(["shellies/em-1/#"], TopicScope.Default(["shellies/+/emeter/+/+", "shellies/+/online"], "em-1").Filters);
        Assert.Equal(["pro3em/#"], TopicScope.Default(["+/events/rpc", "+/status/+", "+/online"], "pro3em").Filters);
        Assert.Equal(["evcc/site/#", "evcc/status"], TopicScope.Default(["evcc/site/#", "evcc/status"], "ignored").Filters);
    }

    [Theory]
    [InlineData("tele/plug-1/SENSOR", true)]
    [InlineData("tele/plug-1/LWT", true)]
    [InlineData("tele/plug-1", true)] // 'a/#' covers 'a' itself
    [InlineData("tele/plug-2/SENSOR", false)]
    [InlineData("tele/plug-10/SENSOR", false)]
    [InlineData("stat/plug-1/RESULT", false)]
    [InlineData("tele/+/SENSOR", false)] // a wildcard is no topic name
    [InlineData("$SYS/broker", false)]
    [InlineData("", false)]
    public void A_publish_is_allowed_only_on_a_topic_inside_the_scope(string topic, bool allowed) =>
        Assert.Equal(allowed, new TopicScope(["tele/plug-1/#"]).Allows(topic));

    [Theory]
    [InlineData("tele/plug-1/#", true)]
    [InlineData("tele/plug-1/SENSOR", true)]
    [InlineData("tele/plug-1/+", true)]
    [InlineData("tele/+/SENSOR", false)] // would match other plugs
    [InlineData("tele/#", false)]
    [InlineData("#", false)]
    [InlineData("+/plug-1/SENSOR", false)]
    [InlineData("tele/plug-2/#", false)]
    [InlineData("tele/plug-1/#/x", false)] // not a filter
    public void A_subscription_is_allowed_only_when_everything_it_matches_is_inside(string filter, bool allowed) =>
        Assert.Equal(allowed, new TopicScope(["tele/plug-1/#"]).Contains(filter));

    [Fact]
    public void A_single_level_wildcard_in_the_scope_covers_any_one_level_but_not_more()
    {
        var scope = new TopicScope(["site/+/power"]);
        Assert.True(scope.Contains("site/+/power"));
        Assert.True(scope.Allows("site/a/power"));
        Assert.False(scope.Contains("site/#"));
        Assert.False(scope.Allows("site/a/b/power"));
    }
}
