using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The evcc format alone: one value per topic combined per DER, evcc's signs and units, and what does not fit.</summary>
public sealed class EvccFormatTests
{
    private static EvccFormat Format(string? device = null) =>
        new(new MqttAddressing(new SourceOptions { Id = "e", Kind = SourceKind.Mqtt, Org = "acme", Site = "home", Device = device, TimeZone = "UTC" }));

    private static MqttContent Read(EvccFormat format, string topic, string payload, long at = 1_000) => format.Read(topic, Encoding.UTF8.GetBytes(payload), at);

    private static DerAddress Der(string der) => new("acme", "home", "evcc", der);

    // The fixture's messages, in order, and each DER's last reading.
    private static Dictionary<DerAddress, Reading> PublishFixture(EvccFormat format)
    {
        var last = new Dictionary<DerAddress, Reading>();
        var at = 1_000L;
        foreach (var line in File.ReadAllLines(RepoFiles.MqttFixture("evcc", "state-topics.tsv")))
        {
            var (topic, payload) = (line.Split('\t')[0], line.Split('\t')[1]);
            foreach (var (reading, _) in Read(format, topic, payload, at).Readings)
            {
                last[reading.Der] = reading;
            }
        }

        return last;
    }

    [Fact]
    public void The_fixtures_topics_combine_into_a_grid_meter_pv_battery_and_a_charger_per_loadpoint_in_the_hubs_signs()
    {
        var readings = PublishFixture(Format());

        Assert.Equal([Der("evcc-battery"), Der("evcc-grid"), Der("evcc-loadpoint-1"), Der("evcc-loadpoint-2"), Der("evcc-pv")], readings.Keys.OrderBy(d => d.Der, StringComparer.Ordinal));
        var grid = readings[Der("evcc-grid")];
        Assert.Equal(DerType.Meter, grid.Type);
        Assert.Equal(10, grid.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal([-700.0, 1160, -440], [grid.Get(Quantity.ActivePowerL1, Unit.Watt)!.Value, grid.Get(Quantity.ActivePowerL2, Unit.Watt)!.Value, grid.Get(Quantity.ActivePowerL3, Unit.Watt)!.Value]);
        Assert.Equal(5.8, grid.Get(Quantity.CurrentL2, Unit.Ampere));
        Assert.Equal(14_044_923, grid.Get(Quantity.EnergyImport, Unit.WattHour)!.Value, 3);
        Assert.Contains(grid.Extras, e => e.Name == "homePower" && e.RawText == "2515.52");
        Assert.Contains(grid.Extras, e => e.Name == "currency" && e.RawText == "\"EUR\"");

        var pv = readings[Der("evcc-pv")];
        Assert.Equal(DerType.Pv, pv.Type);
        Assert.Equal(-6493, pv.Get(Quantity.ActivePower, Unit.Watt)); // generation is negative in the hub

        var battery = readings[Der("evcc-battery")];
        Assert.Equal(DerType.Battery, battery.Type);
        Assert.Equal(140, battery.Get(Quantity.ActivePower, Unit.Watt)); // evcc's −140 (charging) is + charging here
        Assert.Equal(63, battery.Get(Quantity.StateOfCharge, Unit.Percent));

        var garage = readings[Der("evcc-loadpoint-1")];
        Assert.Equal(DerType.V2xCharger, garage.Type);
        Assert.Equal(3847.48, garage.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(6_663_930, garage.Get(Quantity.EnergyCharged, Unit.WattHour)!.Value, 3);
        Assert.Equal(7420.896, garage.Get(Quantity.SessionEnergyCharged, Unit.WattHour));
        Assert.Equal(77.761, garage.Get(Quantity.VehicleStateOfCharge, Unit.Percent));
        Assert.Equal(224.5875549, garage.Get(Quantity.VoltageL1, Unit.Volt));
        Assert.Equal(6.005991936, garage.Get(Quantity.CurrentL3, Unit.Ampere));
        Assert.Contains(garage.Extras, e => e.Name == "charging" && e.RawText == "true");
        Assert.Contains(garage.Extras, e => e.Name == "title" && e.RawText == "\"Garage\"");
        Assert.Equal("evcc", garage.ExtrasOrigin);

        var parking = readings[Der("evcc-loadpoint-2")];
        Assert.Equal(0, parking.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(85, parking.Get(Quantity.VehicleStateOfCharge, Unit.Percent));
        Assert.Contains(parking.Extras, e => e.Name == "charging" && e.RawText == "false");
    }

    [Fact]
    public void A_burst_within_one_millisecond_gives_each_reading_a_newer_time_and_an_extra_alone_is_no_reading()
    {
        var format = Format();
        Assert.Same(MqttContent.Nothing, Read(format, "evcc/loadpoints/1/charging", "true"));
        var first = Read(format, "evcc/loadpoints/1/chargePower", "3700").Readings.Single().Reading;
        var second = Read(format, "evcc/loadpoints/1/vehicleSoc", "50").Readings.Single().Reading;

        Assert.Equal(1_000, first.Timestamp);
        Assert.Equal(1_001, second.Timestamp); // else the hub would drop it as a duplicate of the first
        Assert.Equal(3700, second.Get(Quantity.ActivePower, Unit.Watt)); // the earlier value travels on
        Assert.Equal(50, second.Get(Quantity.VehicleStateOfCharge, Unit.Percent));
        Assert.Contains(second.Extras, e => e.Name == "charging" && e.RawText == "true");
    }

    [Fact]
    public void The_status_is_the_last_will_of_every_der_read_so_far_and_the_legacy_names_and_a_longer_root_are_read()
    {
        var format = Format();
        Assert.Same(MqttContent.Nothing, Read(format, "evcc/status", "online")); // nothing read yet: no DER to name
        Read(format, "evcc/site/gridPower", "-1200");
        Read(format, "evcc/site/battery/power", "300");
        var offline = Read(format, "evcc/status", "offline").Availability!;
        var longer = Read(format, "home/evcc/site/pvPower", "800").Readings.Single().Reading;

        Assert.False(offline.Online);
        Assert.Equal([(Der("evcc-battery"), DerType.Battery), (Der("evcc-grid"), DerType.Meter)], offline.Ders.OrderBy(d => d.Der.Der, StringComparer.Ordinal));
        Assert.Equal(new DerAddress("acme", "home", "home-evcc", "home-evcc-pv"), longer.Der);
        Assert.Equal(new DerAddress("acme", "home", "hub-1", "evcc-grid"), Read(Format("hub-1"), "evcc/site/gridPower", "5").Readings.Single().Reading.Der);
    }

    [Fact]
    public void An_empty_value_drops_the_value_and_other_topics_are_nothing()
    {
        var format = Format();
        Read(format, "evcc/loadpoints/1/vehicleSoc", "40");
        Assert.Same(MqttContent.Nothing, Read(format, "evcc/loadpoints/1/vehicleSoc", "")); // no vehicle any more
        var reading = Read(format, "evcc/loadpoints/1/chargePower", "0").Readings.Single().Reading;

        Assert.False(reading.TryGetRaw(Quantity.VehicleStateOfCharge, out _));
        Assert.Same(MqttContent.Nothing, Read(format, "evcc/updated", "1700000000"));
        Assert.Same(MqttContent.Nothing, Read(format, "evcc/loadpoints", "2"));
        Assert.Same(MqttContent.Nothing, Read(format, "evcc/vehicles/ev1/minSoc", "20"));
    }

    [Theory]
    [InlineData("evcc/site/gridPower", "lots")]
    [InlineData("evcc/site/batterySoc", "NaN")]
    [InlineData("evcc/loadpoints/1/chargePower", "{\"value\":1}")]
    [InlineData("evcc/status", "gone")]
    [InlineData("evcc.x/site/pvPower", "5")]
    public void What_does_not_fit_is_a_format_error(string topic, string payload) =>
        Assert.Throws<TelemetryFormatException>(() => Read(Format(), topic, payload));

}
