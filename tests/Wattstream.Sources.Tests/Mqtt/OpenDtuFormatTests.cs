using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The opendtu format alone: an inverter's topics combined into its pv DER, OpenDTU's units, and what does not fit.</summary>
public sealed class OpenDtuFormatTests
{
    private static readonly DerAddress Inverter = new("acme", "home", "114182912345", "114182912345");

    private static OpenDtuFormat Format() =>
        new(new MqttAddressing(new SourceOptions { Id = "o", Kind = SourceKind.Mqtt, Org = "acme", Site = "home", TimeZone = "UTC" }));

    private static MqttContent Read(OpenDtuFormat format, string topic, string payload) => format.Read(topic, Encoding.UTF8.GetBytes(payload), 1_000);

    [Fact]
    public void The_fixtures_topics_make_one_pv_der_per_inverter_with_opendtus_units()
    {
        var format = Format();
        Reading? last = null;
        var path = RepoFiles.MqttFixture("opendtu", "inverter-topics.tsv");
        foreach (var parts in File.ReadAllLines(path).Select(l => l.Split('\t')))
        {
            foreach (var (reading, _) in Read(format, parts[0], parts[1]).Readings)
            {
                last = reading;
            }
        }

        Assert.NotNull(last);
        Assert.Equal(Inverter, last!.Der);
        Assert.Equal(DerType.Pv, last.Type);
        Assert.Equal(-334.2, last.Get(Quantity.ActivePower, Unit.Watt)); // generation is negative in the hub
        Assert.Equal(812_345, last.Get(Quantity.EnergyGenerated, Unit.WattHour)!.Value, 3);
        Assert.Equal(231.2, last.Get(Quantity.Voltage, Unit.Volt));
        Assert.Equal(50.01, last.Get(Quantity.Frequency, Unit.Hertz));
        Assert.Equal(0.998, last.Get(Quantity.PowerFactor, Unit.None)!.Value, 6); // OpenDTU's 99.8 %
        Assert.Equal(351.4, last.Get(Quantity.DcPower, Unit.Watt));
        Assert.Equal(33.1, last.Get(Quantity.Mppt1Voltage, Unit.Volt));
        Assert.Equal(5.34, last.Get(Quantity.Mppt2Current, Unit.Ampere));
        Assert.Equal(32.5, last.Get(Quantity.HeatsinkTemperature, Unit.Celsius));
        Assert.Contains(last.Extras, e => e.Name == "yieldday" && e.RawText == "1650");
        Assert.Contains(last.Extras, e => e.Name == "1/power" && e.RawText == "175.8");
        Assert.Contains(last.Extras, e => e.Name == "name" && e.RawText == "\"Garage-roof\"");
        Assert.Equal("opendtu", last.ExtrasOrigin);
    }

    [Fact]
    public void Reachable_is_the_inverters_status_and_the_dtus_last_will_names_every_inverter_read()
    {
        var format = Format();
        Assert.Same(MqttContent.Nothing, Read(format, "solar/dtu/status", "offline")); // no inverter read yet
        var unreachable = Read(format, "solar/114182912345/status/reachable", "0").Availability!;
        Read(format, "solar/114182912345/0/power", "10");
        Read(format, "solar/114182999999/0/power", "20");
        var offline = Read(format, "solar/dtu/status", "offline").Availability!;

        Assert.False(unreachable.Online);
        Assert.Equal((Inverter, DerType.Pv), unreachable.Ders.Single());
        Assert.False(offline.Online);
        Assert.Equal(2, offline.Ders.Count);
    }

    [Fact]
    public void A_burst_gets_newer_times_and_the_dtus_own_topics_are_nothing()
    {
        var format = Format();
        var first = Read(format, "solar/114182912345/0/power", "100").Readings.Single().Reading;
        var second = Read(format, "solar/114182912345/0/yieldtotal", "1.5").Readings.Single().Reading;

        Assert.Equal(1_001, second.Timestamp);
        Assert.True(second.Timestamp > first.Timestamp);
        Assert.Equal(-100, second.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Same(MqttContent.Nothing, Read(format, "solar/dtu/199980123456/rssi", "-60"));
        Assert.Same(MqttContent.Nothing, Read(format, "solar/114182912345/device/hwversion", "01.00"));
        Assert.Same(MqttContent.Nothing, Read(format, "solar/114182912345/cmd/restart", "1"));
    }

    [Theory]
    [InlineData("solar/114182912345/0/power", "n/a")]
    [InlineData("solar/114182912345/1/voltage", "")]
    [InlineData("solar/114182912345/status/reachable", "yes")]
    [InlineData("solar/dtu/status", "gone")]
    [InlineData("solar/1141.82/0/power", "5")]
    public void What_does_not_fit_is_a_format_error(string topic, string payload) =>
        Assert.Throws<TelemetryFormatException>(() => Read(Format(), topic, payload));

}
