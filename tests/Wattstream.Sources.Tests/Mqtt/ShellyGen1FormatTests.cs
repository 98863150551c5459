using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The shelly-gen1 format alone, over the fixtures: a 3EM's phases summed, an EM's channels, the last will.</summary>
public sealed class ShellyGen1FormatTests
{
    private static ShellyGen1Format Format() =>
        new(new MqttAddressing(new SourceOptions { Id = "s", Kind = SourceKind.Mqtt, Org = "acme", Site = "home" }));

    private static MqttContent Read(ShellyGen1Format format, string topic, string payload) => format.Read(topic, Encoding.UTF8.GetBytes(payload), 1_000);

    private static (string Topic, string Payload)[] Fixture(string name)
    {
        return [.. File.ReadAllLines(RepoFiles.MqttFixture("shelly-gen1", name))
            .Where(l => l.Length > 0).Select(l => (l[..l.IndexOf(' ', StringComparison.Ordinal)], l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]))];
    }

    [Fact]
    public void A_3em_is_one_three_phase_meter_whose_totals_are_the_sums_once_every_phase_reported()
    {
        var format = Format();
        var readings = Fixture("3em-emeter.txt").SelectMany(m => Read(format, m.Topic, m.Payload).Readings).Select(r => r.Reading).ToArray();

        Assert.All(readings, r => Assert.Equal(new DerAddress("acme", "home", "shellyem3-84cca8a1b2c3", "shellyem3-84cca8a1b2c3"), r.Der));
        Assert.Equal(11, readings.Length); // no reading of a pf, nor of a register before every phase reported it
        Assert.False(readings[0].TryGetRaw(Quantity.ActivePower, out _)); // phase 1 alone: no total yet
        Assert.Equal(1012.52, readings[0].Get(Quantity.ActivePowerL1, Unit.Watt));
        Assert.Equal(Enumerable.Range(1_000, 11).Select(t => (long)t), readings.Select(r => r.Timestamp)); // one ms apart
        var last = readings[^1]; // the meter's latest values, all of them
        Assert.Equal(1012.52 + 58.31 - 320.4, last.Get(Quantity.ActivePower, Unit.Watt)!.Value, 6);
        Assert.Equal(-320.4, last.Get(Quantity.ActivePowerL3, Unit.Watt));
        Assert.Equal(125673.4 + 40120.2 + 30211.9, last.Get(Quantity.EnergyImport, Unit.WattHour)!.Value, 6);
        Assert.Equal(9424.1, last.Get(Quantity.EnergyExport, Unit.WattHour)!.Value, 6);
        Assert.Equal(234.8, last.Get(Quantity.VoltageL3, Unit.Volt));
        Assert.Equal(0.4, last.Get(Quantity.CurrentL2, Unit.Ampere));
    }

    [Fact]
    public void An_ems_channels_are_separate_meters_and_the_last_will_marks_both()
    {
        var format = Format();
        var readings = Fixture("em-emeter.txt").SelectMany(m => Read(format, m.Topic, m.Payload).Readings).Select(r => r.Reading).ToArray();
        var will = Read(format, "shellies/shellyem-b4e62d0a1b2c/online", "false").Availability!;

        Assert.Equal(["shellyem-b4e62d0a1b2c-emeter:0", "shellyem-b4e62d0a1b2c-emeter:1"], readings.Select(r => r.Der.Der).Distinct().Order());
        Assert.Equal(432.17, readings[0].Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(-12.5, readings[3].Get(Quantity.ReactivePower, Unit.Var)); // still there with the total
        Assert.Equal(5512.8, readings[3].Get(Quantity.EnergyImport, Unit.WattHour));
        Assert.Equal(5.5128, readings[3].Get(Quantity.EnergyImport, Unit.KilowattHour)!.Value, 9);
        Assert.False(will.Online);
        Assert.Equal(2, will.Ders.Count);
        Assert.Same(MqttContent.Nothing, Read(format, "shellies/shellyem-b4e62d0a1b2c/relay/0", "on"));
    }

    [Theory]
    [InlineData("shellies/shellyem-1/emeter/0/power", "lots")]
    [InlineData("shellies/shellyem-1/emeter/0/power", "NaN")]
    [InlineData("shellies/shellyem-1/emeter/7/power", "5")]
    [InlineData("shellies/shellyem-1/emeter/x/power", "5")]
    [InlineData("shellies/shellyem-1/online", "maybe")]
    [InlineData("shellies/shelly.em/emeter/0/power", "5")]
    public void What_does_not_fit_is_a_format_error(string topic, string payload) =>
        Assert.Throws<TelemetryFormatException>(() => Read(Format(), topic, payload));
}
