using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The shelly-gen2 format alone, over the fixtures: components to DERs and quantities, notifications, the last will.</summary>
public sealed class ShellyGen2FormatTests
{
    private static ShellyGen2Format Format() =>
        new(new MqttAddressing(new SourceOptions { Id = "s", Kind = SourceKind.Mqtt, Org = "acme", Site = "home" }));

    private static MqttContent Read(ShellyGen2Format format, string topic, string payload) => format.Read(topic, Encoding.UTF8.GetBytes(payload), 1_000);

    private static string Fixture(string name)
    {
        return File.ReadAllText(RepoFiles.MqttFixture("shelly-gen2", name));
    }

    [Fact]
    public void A_pro_3em_status_is_the_devices_three_phase_meter_with_the_rest_as_extras()
    {
        var content = Read(Format(), "shellypro3em-0cb815fcaff4/status/em:0", Fixture("pro3em-status-em0.json"));
        var (reading, deviceTime) = content.Readings.Single();

        Assert.Equal(new DerAddress("acme", "home", "shellypro3em-0cb815fcaff4", "shellypro3em-0cb815fcaff4"), reading.Der);
        Assert.Equal(DerType.Meter, reading.Type);
        Assert.Null(deviceTime); // a status message carries no time
        Assert.Equal(1_000, reading.Timestamp);
        Assert.Equal(715.1, reading.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(951.2, reading.Get(Quantity.ActivePowerL1, Unit.Watt));
        Assert.Equal(-951.1, reading.Get(Quantity.ActivePowerL2, Unit.Watt));
        Assert.Equal(715.0, reading.Get(Quantity.ActivePowerL3, Unit.Watt));
        Assert.Equal(236.2, reading.Get(Quantity.VoltageL2, Unit.Volt));
        Assert.Equal(3.03, reading.Get(Quantity.CurrentL3, Unit.Ampere));
        Assert.Equal(11.086, reading.Get(Quantity.Current, Unit.Ampere));
        Assert.Equal(2619.8, reading.Get(Quantity.ApparentPower, Unit.VoltAmpere));
        Assert.Equal(50, reading.Get(Quantity.Frequency, Unit.Hertz));
        Assert.Contains(reading.Extras, e => e.Name == "b_pf" && e.RawText == "1");
        Assert.Contains(reading.Extras, e => e.Name == "user_calibrated_phase" && e.RawText == "[]");
        Assert.Contains(reading.Extras, e => e.Name == "n_current" && e.RawText == "null"); // no neutral CT
        Assert.DoesNotContain(reading.Extras, e => e.Name is "id" or "a_act_power" or "total_act_power");
    }

    [Fact]
    public void A_notify_status_with_the_energy_registers_has_the_devices_time_and_watt_hours()
    {
        var (reading, deviceTime) = Read(Format(), "shellypro3em-0cb815fcaff4/events/rpc", Fixture("pro3em-events-rpc-emdata.json")).Readings.Single();

        Assert.Equal(1_700_000_000_250, deviceTime);
        Assert.Equal("shellypro3em-0cb815fcaff4", reading.Der.Der);
        Assert.Equal(5277.01, reading.Get(Quantity.EnergyImport, Unit.WattHour));
        Assert.Equal(2768.27, reading.Get(Quantity.EnergyExport, Unit.WattHour));
        Assert.Contains(reading.Extras, e => e.Name == "b_total_act_ret_energy" && e.RawText == "2768.27");
    }

    [Fact]
    public void Switches_and_em1_channels_are_their_own_ders_and_the_last_will_marks_every_der_of_the_device()
    {
        var format = Format();
        var plug = Read(format, "shellyplus1pm-a8032ab12345/status/switch:0", Fixture("plus1pm-status-switch0.json")).Readings.Single().Reading;
        var channel = Read(format, "shellyproem50-08f9e0e67204/status/em1:1", Fixture("proem-status-em1-1.json")).Readings.Single().Reading;
        var channelEnergy = Read(format, "shellyproem50-08f9e0e67204/status/em1data:1", """{"id":1,"total_act_energy":6644.90,"total_act_ret_energy":2595.26}""").Readings.Single().Reading;
        var will = Read(format, "shellyplus1pm-a8032ab12345/online", "false").Availability!;
        var unknownWill = Read(format, "shellyplusplugs-1/online", "true").Availability!;

        Assert.Equal("shellyplus1pm-a8032ab12345-switch:0", plug.Der.Der);
        Assert.Equal(8.9, plug.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(8.9, plug.Get(Quantity.ActivePowerL1, Unit.Watt));
        Assert.Equal(237.5, plug.Get(Quantity.VoltageL1, Unit.Volt));
        Assert.Equal(0.068, plug.Get(Quantity.CurrentL1, Unit.Ampere));
        Assert.Equal(0.61, plug.Get(Quantity.PowerFactor, Unit.None));
        Assert.Equal(6.532, plug.Get(Quantity.EnergyImport, Unit.WattHour));
        Assert.Contains(plug.Extras, e => e.Name == "output" && e.RawText == "true");
        Assert.Contains(plug.Extras, e => e.Name == "aenergy"); // the per-minute values
        Assert.Equal("shellyproem50-08f9e0e67204-em1:1", channel.Der.Der);
        Assert.Equal(5080.3, channel.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(channel.Der, channelEnergy.Der);
        Assert.Equal(6644.90, channelEnergy.Get(Quantity.EnergyImport, Unit.WattHour));
        Assert.False(will.Online);
        Assert.Equal((plug.Der, DerType.Meter), will.Ders.Single());
        Assert.True(unknownWill.Online);
        Assert.Equal("shellyplusplugs-1", unknownWill.Ders.Single().Der.Der); // no component seen yet: the device itself
    }

    [Fact]
    public void What_measures_nothing_is_nothing()
    {
        Assert.Same(MqttContent.Nothing, Read(Format(), "shelly1/status/sys", """{"mac":"A8032AB12345","uptime":5}"""));
        Assert.Same(MqttContent.Nothing, Read(Format(), "shelly1/status/switch:0", """{"id":0,"source":"init","output":false}"""));
        Assert.Same(MqttContent.Nothing, Read(Format(), "shelly1/events/rpc", """{"src":"shelly1","method":"NotifyEvent","params":{"ts":1.5,"events":[]}}"""));
        Assert.Same(MqttContent.Nothing, Read(Format(), "shelly1/events/rpc", """{"src":"shelly1","method":"NotifyStatus","params":{"ts":1.5,"switch:0":{"id":0,"output":true}}}"""));
    }

    [Theory]
    [InlineData("s/status/em:0", "{not json")]
    [InlineData("s/status/em:0", "[1]")]
    [InlineData("s/status/em:0", """{"a_act_power":"5"}""")]
    [InlineData("s/status/switch:0", """{"aenergy":{"total":"x"}}""")]
    [InlineData("s/events/rpc", """{"params":{}}""")]
    [InlineData("s/events/rpc", """{"method":"NotifyStatus","params":{"ts":"now","em:0":{"total_act_power":1}}}""")]
    [InlineData("s/events/rpc", """{"method":"NotifyStatus","params":{"em:0":5}}""")]
    [InlineData("s/online", "yes")]
    [InlineData("s.x/status/em:0", """{"total_act_power":1}""")]
    public void What_does_not_fit_is_a_format_error(string topic, string payload) =>
        Assert.Throws<TelemetryFormatException>(() => Read(Format(), topic, payload));
}
