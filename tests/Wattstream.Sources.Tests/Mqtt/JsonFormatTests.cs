using System.ComponentModel.DataAnnotations;
using System.Text;
using Wattstream.Sources;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests.Mqtt;

/// <summary>The json format alone: mappings from the settings to DERs, paths, units and factors, and the settings check.</summary>
public sealed class JsonFormatTests
{
    private static JsonMappingOptions SmlMeter() => new()
    {
        Topic = "tele/+/SENSOR",
        Type = "meter",
        Device = "{1}",
        Fields =
        {
            ["ActivePower"] = new() { Path = "SML.Power_curr", Unit = "W" },
            ["EnergyImport"] = new() { Path = "SML.Total_in", Unit = "kWh" },
            ["EnergyExport"] = new() { Path = "$.SML.Total_out", Unit = "kWh" },
        },
    };

    // An inverter's power as a bare number in kW on one topic, its totals in an array on another: one DER.
    private static JsonMappingOptions[] Inverter() =>
    [
        new()
        {
            Topic = "solar/+/power",
            Type = "pv",
            Device = "{1}",
            Der = "{1}-pv",
            Fields = { ["activepower"] = new() { Path = "$", Unit = "kW", Scale = -1 } }, // production in kW, − generation in the hub
        },
        new()
        {
            Topic = "solar/+/totals",
            Type = "pv",
            Device = "{1}",
            Der = "{1}-pv",
            Fields = { ["EnergyGenerated"] = new() { Path = "data[0].e", Unit = "kWh" } },
        },
    ];

    private static SourceOptions Options(params JsonMappingOptions[] mappings) =>
        new() { Id = "j", Kind = SourceKind.Mqtt, Url = new Uri("mqtt://127.0.0.1"), Format = "json", Org = "acme", Site = "home", Mappings = [.. mappings] };

    private static MqttContent Read(JsonFormat format, string topic, string payload) => format.Read(topic, Encoding.UTF8.GetBytes(payload), 1_000);

    [Fact]
    public void A_mapped_json_payload_is_its_ders_reading_with_the_units_and_the_device_from_the_topic()
    {
        var format = new JsonFormat(new MqttAddressing(Options([SmlMeter(), .. Inverter()])));
        var payload = File.ReadAllText(RepoFiles.MqttFixture("json", "sml-SENSOR.json"));

        var (meter, deviceTime) = Read(format, "tele/stromzaehler/SENSOR", payload).Readings.Single();

        Assert.Null(deviceTime);
        Assert.Equal(new DerAddress("acme", "home", "stromzaehler", "stromzaehler"), meter.Der);
        Assert.Equal(DerType.Meter, meter.Type);
        Assert.Equal(-6, meter.Get(Quantity.ActivePower, Unit.Watt)); // exporting 6 W
        Assert.Equal(3_670_225, meter.Get(Quantity.EnergyImport, Unit.WattHour)!.Value, 3);
        Assert.Equal(85_567.9, meter.Get(Quantity.EnergyExport, Unit.WattHour)!.Value, 3);
        Assert.Equal(["tele/+/SENSOR", "solar/+/power", "solar/+/totals"], format.DefaultTopics);
    }

    [Fact]
    public void A_bare_number_and_an_array_item_from_two_topics_make_one_der_with_scale_applied()
    {
        var format = new JsonFormat(new MqttAddressing(Options([SmlMeter(), .. Inverter()])));
        var power = Read(format, "solar/balcony/power", "0.842").Readings.Single().Reading;
        var totals = Read(format, "solar/balcony/totals", """{"data":[{"e":1234.5,"t":1702459522}]}""").Readings.Single().Reading;

        Assert.Equal(new DerAddress("acme", "home", "balcony", "balcony-pv"), power.Der);
        Assert.Equal(DerType.Pv, power.Type);
        Assert.Equal(-842, power.Get(Quantity.ActivePower, Unit.Watt)!.Value, 6);
        Assert.Equal(-842, totals.Get(Quantity.ActivePower, Unit.Watt)!.Value, 6); // still known from the first topic
        Assert.Equal(1_234_500, totals.Get(Quantity.EnergyGenerated, Unit.WattHour)!.Value, 3);
        Assert.True(totals.Timestamp > power.Timestamp);

        Assert.Same(MqttContent.Nothing, Read(format, "solar/balcony/name", "\"Balcony\"")); // none of its values
        Assert.Same(MqttContent.Nothing, Read(format, "other/topic", "not json")); // no mapping's topic: not even parsed
    }

    [Fact]
    public void A_value_that_is_not_a_number_or_a_payload_that_is_not_json_is_malformed()
    {
        var format = new JsonFormat(new MqttAddressing(Options(SmlMeter())));

        var notNumber = Assert.Throws<TelemetryFormatException>(() => Read(format, "tele/m/SENSOR", """{"SML":{"Power_curr":"lots"}}"""));
        Assert.Contains("SML.Power_curr", notNumber.Message, StringComparison.Ordinal);
        Assert.Throws<TelemetryFormatException>(() => Read(format, "tele/m/SENSOR", "{\"SML\":"));
        Assert.Equal(230.5, Read(format, "tele/m/SENSOR", """{"SML":{"Power_curr":"230.5"}}""").Readings.Single().Reading.Get(Quantity.ActivePower, Unit.Watt));
        Assert.Throws<TelemetryFormatException>(() => Read(format, "tele/bad.id/SENSOR", """{"SML":{"Power_curr":1}}""")); // not a device id
    }

    [Theory]
    [InlineData("Topic", "tele/+/SEN#SOR", "Mappings:0:Topic")]
    [InlineData("Type", "inverter", "Mappings:0:Type")]
    [InlineData("Device", "{2}", "Mappings:0:Device")]
    [InlineData("Der", "a b", "Mappings:0:Der")]
    [InlineData("Quantity", "Watts", "Mappings:0:Fields:Watts")]
    [InlineData("Path", "SML..Power", "Mappings:0:Fields:ActivePower:Path")]
    [InlineData("Path", "data[x]", "Mappings:0:Fields:ActivePower:Path")]
    [InlineData("Unit", "horsepower", "Mappings:0:Fields:ActivePower:Unit")]
    [InlineData("Scale", "0", "Mappings:0:Fields:ActivePower:Scale")]
    public void A_bad_mapping_is_refused_at_start_naming_its_key(string what, string value, string key)
    {
        var mapping = new JsonMappingOptions { Topic = "tele/+/SENSOR", Type = "meter", Device = "{1}" };
        var field = new JsonFieldOptions { Path = "SML.Power_curr", Unit = "W" };
        var quantity = "ActivePower";
        switch (what)
        {
            case "Topic": mapping.Topic = value; break;
            case "Type": mapping.Type = value; break;
            case "Device": mapping.Device = value; break;
            case "Der": mapping.Der = value; break;
            case "Quantity": quantity = value; break;
            case "Path": field.Path = value; break;
            case "Unit": field.Unit = value; break;
            case "Scale": field.Scale = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        }

        mapping.Fields[quantity] = field;
        var options = Options(mapping);

        var errors = Validate(options);

        var error = Assert.Single(errors);
        Assert.StartsWith(key, error, StringComparison.Ordinal);
        var thrown = Assert.Throws<ArgumentException>(() => new JsonFormat(new MqttAddressing(options)));
        Assert.Contains(key, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_json_source_needs_mappings_and_other_formats_take_none()
    {
        Assert.Contains(Validate(Options()), e => e.StartsWith("Mappings of a json mqtt source must hold", StringComparison.Ordinal));

        var tasmota = Options(SmlMeter());
        tasmota.Format = "tasmota";
        Assert.Contains(Validate(tasmota), e => e.StartsWith("Mappings of an mqtt source are for Format=json", StringComparison.Ordinal));

        var meter = PvOn("house");
        meter.Type = "meter";
        var clash = Options(meter, PvOn("house")); // one DER id, two types

        Assert.Contains(Validate(clash), e => e.Contains("two types", StringComparison.Ordinal));
        Assert.Empty(Validate(Options([SmlMeter(), .. Inverter()])));

        var deviceFromTopic = SmlMeter();
        deviceFromTopic.Der = "house"; // a fixed DER of a device named by the topic: not checked against the others
        Assert.Empty(Validate(Options(deviceFromTopic, PvOn("house"))));
    }

    private static JsonMappingOptions PvOn(string device) => new()
    {
        Topic = "pv/power",
        Type = "pv",
        Device = device,
        Fields = { ["ActivePower"] = new() { Path = "$", Unit = "W" } },
    };

    private static List<string> Validate(SourceOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage!)];
    }
}
