using System.ComponentModel.DataAnnotations;
using Wattstream.Mqtt.Broker;

namespace Wattstream.Mqtt.Tests.Broker;

public sealed class MqttBrokerOptionsTests
{
    private static MqttDeviceOptions Device(string username = "plug-1") =>
        new() { Username = username, Password = "secret", Org = "acme", Site = "home", Format = "tasmota" };

    private static List<string> Problems(MqttBrokerOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => $"{string.Join(",", r.MemberNames)}: {r.ErrorMessage}")];
    }

    [Fact]
    public void Good_settings_have_no_problem_and_the_endpoint_has_the_default_ports()
    {
        Assert.Empty(Problems(new MqttBrokerOptions { Listen = new Uri("mqtt://0.0.0.0"), Devices = [Device()] }));
        Assert.Equal(1883, new MqttBrokerOptions { Listen = new Uri("mqtt://127.0.0.1") }.Endpoint().Port);
        Assert.Equal(8883, new MqttBrokerOptions { Listen = new Uri("mqtts://[::]") }.Endpoint().Port);
        Assert.Equal(0, new MqttBrokerOptions { Listen = new Uri("mqtt://localhost:0") }.Endpoint().Port);
    }

    [Theory]
    [InlineData("http://127.0.0.1:1883", "Listen")]
    [InlineData("mqtt://broker.example:1883", "Listen")] // an address, not a name
    [InlineData("mqtt://u:p@127.0.0.1:1883", "Listen")]
    [InlineData("mqtts://127.0.0.1:8883", "Mqtt:Certificate:Path")]
    public void A_bad_listen_address_is_named(string listen, string expected) =>
        Assert.Contains(Problems(new MqttBrokerOptions { Listen = new Uri(listen), Devices = [Device()] }), p => p.Contains(expected, StringComparison.Ordinal));

    [Fact]
    public void Bad_devices_are_named_by_index_and_setting()
    {
        var bad = Device("plug-2");
        bad.Format = "tasmoto";
        bad.Org = "acme corp";
        bad.Topics = ["tele/#/x"];
        bad.TopicName = "a/b";
        var problems = Problems(new MqttBrokerOptions { Listen = new Uri("mqtt://127.0.0.1:1883"), Devices = [Device(), bad, Device()] });

        Assert.Contains(problems, p => p.StartsWith("Devices:1:Format:", StringComparison.Ordinal) && p.Contains("tasmota", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Devices:1:Org:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Devices:1:Topics:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Devices:1:TopicName:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Devices:2:Username:", StringComparison.Ordinal) && p.Contains("two devices", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public void A_device_without_a_password_is_refused()
    {
        var device = Device();
        device.Password = "";
        Assert.Contains(Problems(new MqttBrokerOptions { Listen = new Uri("mqtt://127.0.0.1:1883"), Devices = [device] }), p => p.StartsWith("Devices:0:Password", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("victron")]
    [InlineData("json")]
    public void A_format_only_a_source_can_read_is_refused_for_a_broker_device_with_the_reason(string format)
    {
        var device = Device();
        device.Format = format;
        var problem = Assert.Single(Problems(new MqttBrokerOptions { Listen = new Uri("mqtt://127.0.0.1:1883"), Devices = [device] }));
        Assert.StartsWith("Devices:0:Format:", problem, StringComparison.Ordinal);
        Assert.Contains("Sources:N:Kind=mqtt", problem, StringComparison.Ordinal);
        Assert.Contains("shelly-gen2", problem, StringComparison.Ordinal);
    }
}
