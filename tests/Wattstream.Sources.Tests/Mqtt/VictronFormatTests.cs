using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The victron format alone: Venus's topics into grid, PV and battery DERs with the hub's signs, and its keepalive.</summary>
public sealed class VictronFormatTests
{
    private const string Portal = "c0619ab12345";
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static VictronFormat Format(string? portalId = Portal) =>
        new(new MqttAddressing(new SourceOptions { Id = "v", Kind = SourceKind.Mqtt, Org = "acme", Site = "home", Format = "victron", PortalId = portalId }));

    private static MqttContent Read(VictronFormat format, string topic, string payload) => format.Read(topic, Encoding.UTF8.GetBytes(payload), 1_000);

    private static DerAddress Der(string part) => new("acme", "home", Portal, $"{Portal}-{part}");

    // The fixture, each DER's last reading.
    private static Dictionary<DerAddress, Reading> ReadFixture(VictronFormat format)
    {
        var last = new Dictionary<DerAddress, Reading>();
        var path = RepoFiles.MqttFixture("victron", "venus-topics.tsv");
        foreach (var parts in File.ReadAllLines(path).Select(l => l.Split('\t')))
        {
            foreach (var (reading, deviceTime) in Read(format, parts[0], parts[1]).Readings)
            {
                Assert.Null(deviceTime); // Venus's values carry no time of their own
                last[reading.Der] = reading;
            }
        }

        return last;
    }

    [Fact]
    public void A_full_publish_makes_the_installations_grid_pv_and_battery_with_the_hubs_signs_and_units()
    {
        var last = ReadFixture(Format());

        Assert.Equal(3, last.Count);
        var grid = last[Der("grid")];
        Assert.Equal(DerType.Meter, grid.Type);
        Assert.Equal(857, grid.Get(Quantity.ActivePower, Unit.Watt)!.Value, 6); // the phases' sum, + import
        Assert.Equal(-95.6, grid.Get(Quantity.ActivePowerL2, Unit.Watt));
        Assert.Equal(229.8, grid.Get(Quantity.VoltageL2, Unit.Volt)); // from the grid meter's service
        Assert.Equal(3.5, grid.Get(Quantity.CurrentL1, Unit.Ampere)); // from the system's
        Assert.Equal(4_123_520, grid.Get(Quantity.EnergyImport, Unit.WattHour)!.Value, 3); // Venus's kWh
        Assert.Equal(1_876_310, grid.Get(Quantity.EnergyExport, Unit.WattHour)!.Value, 3);

        var pv = last[Der("pv")];
        Assert.Equal(DerType.Pv, pv.Type);
        Assert.Equal(-2050, pv.Get(Quantity.ActivePower, Unit.Watt)); // DC 1450 + AC 600 (not the charger again), − generation
        Assert.Equal(5_802_300, pv.Get(Quantity.EnergyGenerated, Unit.WattHour)!.Value, 3); // charger + inverter registers

        var battery = last[Der("battery")];
        Assert.Equal(DerType.Battery, battery.Type);
        Assert.Equal(850.6, battery.Get(Quantity.ActivePower, Unit.Watt)); // + charging, as Venus's
        Assert.Equal(0.675, battery.Get(Quantity.StateOfCharge, Unit.Fraction)!.Value, 6);
        Assert.Equal(52.9, battery.Get(Quantity.DcVoltage, Unit.Volt));
        Assert.Equal(16.08, battery.Get(Quantity.DcCurrent, Unit.Ampere));
        Assert.Equal(912_400, battery.Get(Quantity.EnergyCharged, Unit.WattHour)!.Value, 3);
        Assert.Equal(24.5, battery.Get(Quantity.Temperature, Unit.Celsius));
    }

    [Fact]
    public void Pvs_register_waits_for_the_full_publish_and_parts_come_from_chargers_and_inverters_without_system_values()
    {
        var format = Format();
        var first = Read(format, $"N/{Portal}/solarcharger/279/Yield/Power", """{"value":300}""").Readings.Single().Reading;
        Read(format, $"N/{Portal}/solarcharger/280/Yield/Power", """{"value":200}""");
        var withRegister = Read(format, $"N/{Portal}/solarcharger/279/Yield/System", """{"value":10.5}""").Readings.Single().Reading;
        var inverter = Read(format, $"N/{Portal}/pvinverter/20/Ac/Power", """{"value":100}""").Readings.Single().Reading;
        var completed = Read(format, $"N/{Portal}/full_publish_completed", """{"value":1702459522}""").Readings.Single().Reading;

        Assert.Equal(-300, first.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Null(withRegister.Get(Quantity.EnergyGenerated, Unit.WattHour)); // not before Venus said it sent everything
        Assert.Equal(-600, inverter.Get(Quantity.ActivePower, Unit.Watt)); // 300 + 200 + 100
        Assert.Equal(10_500, completed.Get(Quantity.EnergyGenerated, Unit.WattHour)!.Value, 3);

        // The system's DC PV, once it has one, stands for the chargers (it is their sum).
        var system = Read(format, $"N/{Portal}/system/0/Dc/Pv/Power", """{"value":520}""").Readings.Single().Reading;
        Assert.Equal(-620, system.Get(Quantity.ActivePower, Unit.Watt));
    }

    [Fact]
    public void Null_and_an_empty_payload_remove_what_they_measured()
    {
        var format = Format();
        Read(format, $"N/{Portal}/pvinverter/20/Ac/Power", """{"value":400}""");
        var both = Read(format, $"N/{Portal}/pvinverter/21/Ac/Power", """{"value":100}""").Readings.Single().Reading;
        var gone = Read(format, $"N/{Portal}/pvinverter/21/Ac/Power", "").Readings.Single().Reading; // the inverter left the D-Bus
        Read(format, $"N/{Portal}/battery/512/Soc", """{"value":50}""");
        var noSoc = Read(format, $"N/{Portal}/battery/512/Dc/0/Power", """{"value":-120}""");
        var socNull = Read(format, $"N/{Portal}/battery/512/Soc", """{"value":null}""").Readings.Single().Reading;

        Assert.Equal(-500, both.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(-400, gone.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Equal(0.5, noSoc.Readings.Single().Reading.Get(Quantity.StateOfCharge, Unit.Fraction));
        Assert.Null(socNull.Get(Quantity.StateOfCharge, Unit.Fraction));
        Assert.Equal(-120, socNull.Get(Quantity.ActivePower, Unit.Watt)); // discharging, as Venus's
    }

    [Fact]
    public void A_mapped_value_that_is_not_a_number_is_malformed_and_an_unmapped_one_is_nothing()
    {
        var format = Format();
        Assert.Throws<TelemetryFormatException>(() => Read(format, $"N/{Portal}/system/0/Dc/Battery/Soc", """{"value":"full"}"""));
        Assert.Throws<TelemetryFormatException>(() => Read(format, $"N/{Portal}/system/0/Dc/Battery/Soc", "67.5"));
        Assert.Throws<TelemetryFormatException>(() => Read(format, $"N/{Portal}/system/0/Dc/Battery/Soc", """{"value":"""));
        Assert.Same(MqttContent.Nothing, Read(format, $"N/{Portal}/grid/30/ProductName", """{"value":"Energy Meter ET340"}"""));
        Assert.Same(MqttContent.Nothing, Read(format, $"N/{Portal}/settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit", "not json"));
        Assert.Same(MqttContent.Nothing, Read(format, $"N/other1234567/system/0/Dc/Battery/Soc", """{"value":50}""")); // another installation
    }

    [Fact]
    public void The_keepalive_asks_for_everything_at_each_connection_and_for_changes_every_30_seconds()
    {
        var format = Format();
        var connected = format.Requests(Start, connected: true).Single();
        Assert.Equal($"R/{Portal}/keepalive", connected.Topic);
        Assert.Empty(connected.Payload); // Venus republishes every value

        Assert.Empty(format.Requests(Start.AddSeconds(29), connected: false));
        var periodic = format.Requests(Start.AddSeconds(30), connected: false).Single();
        Assert.Equal($"R/{Portal}/keepalive", periodic.Topic);
        Assert.Equal("""{"keepalive-options":["suppress-republish"]}""", Encoding.UTF8.GetString(periodic.Payload));
        Assert.Empty(format.Requests(Start.AddSeconds(31), connected: false));

        Assert.Empty(format.Requests(Start.AddSeconds(40), connected: true).Single().Payload); // a reconnection asks for everything again
        Assert.Equal(["N/c0619ab12345/system/0/#", "N/c0619ab12345/grid/+/#", "N/c0619ab12345/battery/+/#", "N/c0619ab12345/solarcharger/+/#",
            "N/c0619ab12345/pvinverter/+/#", "N/c0619ab12345/full_publish_completed"], format.DefaultTopics);
    }

    [Fact]
    public void Without_a_portal_id_the_keepalive_starts_once_an_installation_is_heard()
    {
        var format = Format(portalId: null);
        Assert.Empty(format.Requests(Start, connected: true));
        Assert.Equal("N/+/system/0/#", format.DefaultTopics[0]);

        Read(format, $"N/{Portal}/system/0/Serial", $$"""{"value":"{{Portal}}"}""");
        var learnt = format.Requests(Start.AddSeconds(1), connected: false).Single();

        Assert.Equal($"R/{Portal}/keepalive", learnt.Topic);
        Assert.Empty(learnt.Payload);
        Assert.Same(MqttContent.Nothing, Read(format, "N/bad+id/system/0/Serial", """{"value":"x"}""")); // not an id
        Assert.Empty(format.Requests(Start.AddSeconds(2), connected: false));
    }
}
