using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using Wattstream.Mqtt.Publishing;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Mqtt.Tests.Publishing;

public sealed class HomeAssistantDiscoveryTests
{
    private static readonly DerAddress Meter = new("org-1", "site:1", "gw", "meter-1");
    private static readonly HomeAssistantDiscovery Discovery = new("wattstream", "homeassistant");

    private static Reading Parse(string json, DerAddress der) => NovacoreReading.Parse(Encoding.UTF8.GetBytes(json), der);

    [Fact]
    public void A_meter_announces_the_sensors_its_reading_carries_and_no_others()
    {
        var reading = Parse("""{"type":"meter","timestamp":1,"W":120,"total_import_Wh":5000,"L1_V":230.1,"L1_A":0.5}""", Meter);

        var configs = Discovery.DerConfigs(Meter, reading.Type, HomeAssistantDiscovery.SensorsCarried(reading))
            .ToDictionary(c => c.Topic, c => JsonDocument.Parse(c.Payload).RootElement);

        Assert.Equal(
            new[] { "current_l1", "energy_in", "power", "voltage_l1" },
            configs.Keys.Select(t => t.Split('/')[2].Replace("wattstream_org-1_site_1_gw_meter-1_", "", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var energy = configs["homeassistant/sensor/wattstream_org-1_site_1_gw_meter-1_energy_in/config"];
        Assert.Equal("energy", energy.GetProperty("device_class").GetString());
        Assert.Equal("total_increasing", energy.GetProperty("state_class").GetString());
        Assert.Equal("kWh", energy.GetProperty("unit_of_measurement").GetString());
        Assert.Equal("wattstream/org-1/site:1/meter-1/state", energy.GetProperty("state_topic").GetString());
        Assert.Equal("wattstream/status", energy.GetProperty("availability_topic").GetString());
        Assert.Equal(["wattstream_org-1_site_1_gw_meter-1"], energy.GetProperty("device").GetProperty("identifiers").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("value_json.total_import_Wh * 0.001", energy.GetProperty("value_template").GetString(), StringComparison.Ordinal);
        var power = configs["homeassistant/sensor/wattstream_org-1_site_1_gw_meter-1_power/config"];
        Assert.Equal("power", power.GetProperty("device_class").GetString());
        Assert.Equal("measurement", power.GetProperty("state_class").GetString());
        Assert.Equal("W", power.GetProperty("unit_of_measurement").GetString());
    }

    [Fact]
    public void A_battery_has_its_state_of_charge_in_percent_and_a_charger_its_charging_power()
    {
        var battery = Parse("""{"type":"battery","timestamp":1,"W":-500,"SoC_nom_fract":0.42}""", new DerAddress("o", "s", "d", "bat"));
        var charger = Parse("""{"type":"v2x_charger","timestamp":1,"W":7400,"vehicle_soc_fract":0.5}""", new DerAddress("o", "s", "d", "ev"));

        var soc = JsonDocument.Parse(Discovery.DerConfigs(battery.Der, battery.Type, HomeAssistantDiscovery.SensorsCarried(battery)).Single(c => c.Topic.EndsWith("_soc/config", StringComparison.Ordinal)).Payload).RootElement;
        var charging = JsonDocument.Parse(Discovery.DerConfigs(charger.Der, charger.Type, HomeAssistantDiscovery.SensorsCarried(charger)).Single(c => c.Topic.EndsWith("_power/config", StringComparison.Ordinal)).Payload).RootElement;

        Assert.Equal("battery", soc.GetProperty("device_class").GetString());
        Assert.Equal("%", soc.GetProperty("unit_of_measurement").GetString());
        Assert.Contains("value_json.SoC_nom_fract * 100", soc.GetProperty("value_template").GetString(), StringComparison.Ordinal);
        Assert.Equal("Charging power", charging.GetProperty("name").GetString());
        Assert.Equal("EV charger", charging.GetProperty("device").GetProperty("model").GetString());
    }

    [Fact]
    public void A_sites_self_sufficiency_reads_todays_fraction_from_the_summary_as_a_percentage_or_unknown()
    {
        var (topic, payload) = Discovery.SiteConfig("o", "s");
        var config = JsonDocument.Parse(payload).RootElement;

        Assert.Equal("homeassistant/sensor/wattstream_o_s_self_sufficiency_today/config", topic);
        Assert.Equal("wattstream/o/s/summary", config.GetProperty("state_topic").GetString());
        Assert.Equal("%", config.GetProperty("unit_of_measurement").GetString());
        Assert.Equal(
            "{{ (value_json.today.selfSufficiency * 100) | round(1) if value_json.today and value_json.today.selfSufficiency is not none else None }}",
            config.GetProperty("value_template").GetString());
    }

    [Theory]
    [InlineData("mqtt://user:secret@127.0.0.1:1883", "credentials")]
    [InlineData("http://127.0.0.1:1883", "mqtt://")]
    public void A_broker_url_with_credentials_or_another_scheme_is_refused(string url, string expected)
    {
        var problems = Validate(new MqttPublishOptions { Url = new Uri(url) });

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("wattstream/#")]
    [InlineData("/wattstream")]
    [InlineData("a+b")]
    public void A_prefix_with_wildcards_or_empty_levels_is_refused(string prefix)
    {
        Assert.NotEmpty(Validate(new MqttPublishOptions { Url = new Uri("mqtt://127.0.0.1"), Prefix = prefix }));
    }

    [Fact]
    public void Orgs_are_org_ids_or_the_star()
    {
        Assert.Empty(Validate(new MqttPublishOptions { Url = new Uri("mqtt://127.0.0.1"), Orgs = ["org-1", "*"] }));
        Assert.NotEmpty(Validate(new MqttPublishOptions { Url = new Uri("mqtt://127.0.0.1"), Orgs = ["org/1"] }));
    }

    private static List<string> Validate(MqttPublishOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage ?? "")];
    }
}
