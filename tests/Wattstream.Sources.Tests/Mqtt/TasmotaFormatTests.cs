using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The tasmota format alone: topics to addresses, the device's time, and what does not fit.</summary>
public sealed class TasmotaFormatTests
{
    private static TasmotaFormat Format(string? device = null, string? der = null, string timeZone = "UTC") =>
        new(new MqttAddressing(new SourceOptions { Id = "t", Kind = SourceKind.Mqtt, Org = "acme", Site = "home", Device = device, Der = der, TimeZone = timeZone }));

    private static MqttContent Read(TasmotaFormat format, string topic, string payload) => format.Read(topic, Encoding.UTF8.GetBytes(payload), 1_000);

    [Fact]
    public void The_device_and_der_come_from_the_topic_unless_set_and_a_custom_full_topic_joins_its_levels()
    {
        const string payload = """{"ENERGY":{"Power":12}}""";
        var fromTopic = Read(Format(), "tele/plug-1/SENSOR", payload).Readings.Single().Reading;
        var set = Read(Format("gateway", "meter-9"), "tele/plug-1/SENSOR", payload).Readings.Single().Reading;
        var custom = Read(Format(), "house/kitchen/tele/SENSOR", payload).Readings.Single().Reading;

        Assert.Equal(new DerAddress("acme", "home", "plug-1", "plug-1"), fromTopic.Der);
        Assert.Equal(new DerAddress("acme", "home", "gateway", "meter-9"), set.Der);
        Assert.Equal(new DerAddress("acme", "home", "house-kitchen", "house-kitchen"), custom.Der);
        Assert.Equal(1_000, fromTopic.Timestamp); // the receive time the source gave
    }

    [Fact]
    public void The_devices_local_time_is_read_in_its_time_zone_or_with_its_own_offset()
    {
        var zurich = Read(Format(timeZone: "Europe/Zurich"), "tele/p/SENSOR", """{"Time":"2022-01-11T21:57:38","ENERGY":{"Power":1}}""").Readings.Single();
        var offset = Read(Format(), "tele/p/SENSOR", """{"Time":"2022-01-11T21:57:38+02:00","ENERGY":{"Power":1}}""").Readings.Single();

        Assert.Equal(DateTimeOffset.Parse("2022-01-11T20:57:38Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), zurich.DeviceTime);
        Assert.Equal(DateTimeOffset.Parse("2022-01-11T19:57:38Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), offset.DeviceTime);
    }

    [Fact]
    public void A_sensor_without_energy_is_nothing_and_other_topics_are_nothing()
    {
        Assert.Same(MqttContent.Nothing, Read(Format(), "tele/p/SENSOR", """{"Time":"2022-01-11T21:57:38","DS18B20":{"Temperature":21.5}}"""));
        Assert.Same(MqttContent.Nothing, Read(Format(), "tele/p/STATE", """{"POWER":"ON"}"""));
    }

    [Theory]
    [InlineData("tele/p/SENSOR", "{not json")]
    [InlineData("tele/p/SENSOR", "[1,2]")]
    [InlineData("tele/p/SENSOR", """{"ENERGY":5}""")]
    [InlineData("tele/p/SENSOR", """{"ENERGY":{"Power":"5"}}""")]
    [InlineData("tele/p/SENSOR", """{"ENERGY":{"Voltage":[230,"x",231]}}""")]
    [InlineData("tele/p/SENSOR", """{"Time":"yesterday","ENERGY":{"Power":5}}""")]
    [InlineData("tele/p/LWT", "Gone")]
    [InlineData("tele/p.q/SENSOR", """{"ENERGY":{"Power":5}}""")]
    public void What_does_not_fit_is_a_format_error(string topic, string payload) =>
        Assert.Throws<TelemetryFormatException>(() => Read(Format(), topic, payload));

    [Fact]
    public void More_values_than_phases_stay_an_extra_and_the_last_will_names_the_meter()
    {
        var reading = Read(Format(), "tele/dual/SENSOR", """{"ENERGY":{"Power":[1,2,3,4],"Voltage":230}}""").Readings.Single().Reading;
        var will = Read(Format(), "tele/dual/LWT", "Offline").Availability!;

        Assert.False(reading.TryGetRaw(Quantity.ActivePower, out _));
        Assert.Contains(reading.Extras, e => e.Name == "Power" && e.RawText == "[1,2,3,4]");
        Assert.Equal(230, reading.Get(Quantity.VoltageL1, Unit.Volt));
        Assert.False(will.Online);
        Assert.Equal((new DerAddress("acme", "home", "dual", "dual"), DerType.Meter), will.Ders.Single());
    }
}
