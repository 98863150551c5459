using Wattstream.Alerts.Rules;

namespace Wattstream.Alerts.Tests;

public class AlertRuleTests
{
    [Fact]
    public void A_valid_rule_has_no_problems()
    {
        Assert.Empty(new AlertRule { Id = "low-v", Type = "low_voltage", Org = "acme", Site = "home", Threshold = 215 }.Validate());
        Assert.All(ExampleRules.For("demo", 47.37, 8.54), r => Assert.Empty(r.Validate()));
    }

    [Fact]
    public void Each_problem_names_its_field()
    {
        var errors = new AlertRule { Id = "bad id!", Type = "low_voltage", Site = "home", ForSeconds = -1 }.Validate();
        Assert.Equal(["forSeconds", "id", "org"], errors.Keys.Order(StringComparer.Ordinal));

        Assert.Contains("type", new AlertRule { Id = "x", Type = "volts_low" }.Validate().Keys);
        var threshold = new AlertRule { Id = "x", Type = "threshold", Field = "Watts", Operator = "=>" }.Validate();
        Assert.Equal(["field", "operator", "threshold"], threshold.Keys.Order(StringComparer.Ordinal));
        var solar = new AlertRule { Id = "x", Type = "solar_drop", Threshold = 2, Latitude = 95 }.Validate();
        Assert.Equal(["latitude", "longitude", "threshold"], solar.Keys.Order(StringComparer.Ordinal));
    }
}
