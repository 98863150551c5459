using System.Text;
using System.Text.Json;

namespace Wattstream.Server.Tests.MqttPublishing;

/// <summary>
/// The hub as a process publishing to a real mosquitto: Home Assistant's discovery messages (retained, with the keys
/// its MQTT sensor documents), states following the pushed readings, the availability topic and the hub's last will
/// when it is killed, and an org that was not chosen never reaching the broker.
/// </summary>
public sealed class HomeAssistantTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("wattstream-mqtt-publish-").FullName;
    private Mosquitto _broker = null!;

    public async Task InitializeAsync() => _broker = await Mosquitto.StartAsync();

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Discovery_states_and_availability_reach_the_broker_and_the_last_will_says_offline_when_the_hub_is_killed()
    {
        await using var hub = await RunningHub.StartAsync(_data, null, "--Simulation:Enabled=false", $"--Mqtt:Publish:Url={_broker.Url}", "--Mqtt:Publish:Orgs:0=home");
        await using var live = await BrokerWatcher.StartAsync(_broker, "#");
        await Eventually.UntilAsync(() => live.Last("wattstream/status")?.Payload == "online", "the hub's availability online");

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await PushAsync(hub, $$"""{"org":"home","site":"house","device":"gw","der":"grid","type":"meter","timestamp":{{now}},"W":1200,"total_import_Wh":51234,"total_export_Wh":800,"L1_V":231.5,"L2_V":230.2,"L3_V":229.8,"L1_A":2.1,"L2_A":1.9,"L3_A":1.2}""");
        await PushAsync(hub, $$"""{"org":"home","site":"house","device":"gw","der":"bat","type":"battery","timestamp":{{now}},"W":-300,"SoC_nom_fract":0.64,"total_charge_Wh":1000,"total_discharge_Wh":900}""");
        await PushAsync(hub, $$"""{"org":"home","site":"house","device":"gw","der":"ev","type":"v2x_charger","timestamp":{{now}},"W":7400}""");
        await PushAsync(hub, $$"""{"org":"neighbour","site":"flat","device":"gw","der":"grid","type":"meter","timestamp":{{now}},"W":999,"total_import_Wh":1}""");

        const string Grid = "homeassistant/sensor/wattstream_home_house_gw_grid";
        await Eventually.UntilAsync(() => live.Last("wattstream/home/house/grid/state") is not null && live.Last("wattstream/home/house/ev/state") is not null, "the states");

        // What Home Assistant gets when it subscribes: the retained discovery messages.
        await using var homeAssistant = await BrokerWatcher.StartAsync(_broker, "homeassistant/#", "wattstream/#");
        await Eventually.UntilAsync(() => homeAssistant.Messages.Any(m => m.Topic == $"{Grid}_current_l3/config"), "the retained discovery messages");
        var configs = homeAssistant.Messages.Where(m => m.Topic.StartsWith("homeassistant/", StringComparison.Ordinal)).GroupBy(m => m.Topic).ToDictionary(g => g.Key, g => g.Last());
        // Delivered at subscribe, so retained (a site's sensor may come live meanwhile: its first summary is due within a second).
        Assert.All(configs.Values.Where(m => !m.Topic.Contains("self_sufficiency", StringComparison.Ordinal)), m => Assert.True(m.Retained, m.Topic));
        Assert.Equal(
            ["current_l1", "current_l2", "current_l3", "energy_in", "energy_out", "power", "voltage_l1", "voltage_l2", "voltage_l3"],
            configs.Keys.Where(t => t.StartsWith(Grid + "_", StringComparison.Ordinal)).Select(t => t[(Grid.Length + 1)..^"/config".Length]).Order(StringComparer.Ordinal));

        var energyIn = Json(configs[$"{Grid}_energy_in/config"]);
        Assert.Equal("wattstream_home_house_gw_grid_energy_in", energyIn.GetProperty("unique_id").GetString());
        Assert.Equal("energy", energyIn.GetProperty("device_class").GetString());
        Assert.Equal("total_increasing", energyIn.GetProperty("state_class").GetString());
        Assert.Equal("kWh", energyIn.GetProperty("unit_of_measurement").GetString());
        Assert.Equal("wattstream/home/house/grid/state", energyIn.GetProperty("state_topic").GetString());
        Assert.Equal("wattstream/status", energyIn.GetProperty("availability_topic").GetString());
        Assert.Equal("online", energyIn.GetProperty("payload_available").GetString());
        Assert.Equal("offline", energyIn.GetProperty("payload_not_available").GetString());
        var device = energyIn.GetProperty("device");
        Assert.Equal(["wattstream_home_house_gw_grid"], device.GetProperty("identifiers").EnumerateArray().Select(e => e.GetString()));
        Assert.False(string.IsNullOrEmpty(device.GetProperty("name").GetString()));
        Assert.False(string.IsNullOrEmpty(device.GetProperty("manufacturer").GetString()));
        Assert.Equal("meter", device.GetProperty("model").GetString());
        Assert.Equal(
            "{{ (value_json.total_import_Wh * 0.001) | round(3) if value_json.total_import_Wh is defined and value_json.total_import_Wh is not none else None }}",
            energyIn.GetProperty("value_template").GetString());

        var power = Json(configs[$"{Grid}_power/config"]);
        Assert.Equal(("power", "measurement", "W"), (power.GetProperty("device_class").GetString(), power.GetProperty("state_class").GetString(), power.GetProperty("unit_of_measurement").GetString()));
        var voltage = Json(configs[$"{Grid}_voltage_l2/config"]);
        Assert.Equal(("voltage", "V"), (voltage.GetProperty("device_class").GetString(), voltage.GetProperty("unit_of_measurement").GetString()));
        Assert.Contains("value_json.L2_V", voltage.GetProperty("value_template").GetString(), StringComparison.Ordinal);
        var current = Json(configs[$"{Grid}_current_l1/config"]);
        Assert.Equal(("current", "A"), (current.GetProperty("device_class").GetString(), current.GetProperty("unit_of_measurement").GetString()));

        var soc = Json(configs["homeassistant/sensor/wattstream_home_house_gw_bat_soc/config"]);
        Assert.Equal(("battery", "%"), (soc.GetProperty("device_class").GetString(), soc.GetProperty("unit_of_measurement").GetString()));
        Assert.Equal(["wattstream_home_house_gw_bat"], soc.GetProperty("device").GetProperty("identifiers").EnumerateArray().Select(e => e.GetString()));
        var charging = Json(configs["homeassistant/sensor/wattstream_home_house_gw_ev_power/config"]);
        Assert.Equal(("power", "W", "Charging power"), (charging.GetProperty("device_class").GetString(), charging.GetProperty("unit_of_measurement").GetString(), charging.GetProperty("name").GetString()));
        Assert.DoesNotContain(configs.Keys, t => t.StartsWith("homeassistant/sensor/wattstream_home_house_gw_ev_energy", StringComparison.Ordinal)); // the charger sent no registers

        // Each value a template points at is in the state JSON, in the unit the template scales from.
        var state = Json(homeAssistant.Last("wattstream/home/house/grid/state")!);
        Assert.True(homeAssistant.Last("wattstream/home/house/grid/state")!.Retained);
        Assert.Equal(1200, state.GetProperty("W").GetDouble());
        Assert.Equal(51234, state.GetProperty("total_import_Wh").GetDouble());
        Assert.Equal(231.5, state.GetProperty("L1_V").GetDouble());
        Assert.Equal(0.64, Json(homeAssistant.Last("wattstream/home/house/bat/state")!).GetProperty("SoC_nom_fract").GetDouble());

        // States follow the readings.
        await PushAsync(hub, $$"""{"org":"home","site":"house","device":"gw","der":"grid","type":"meter","timestamp":{{now + 1000}},"W":-450,"total_import_Wh":51240,"total_export_Wh":801}""");
        await Eventually.UntilAsync(() => live.Last("wattstream/home/house/grid/state") is { } s && Json(s).GetProperty("W").GetDouble() == -450, "the grid's new state");
        Assert.Equal(51240, Json(live.Last("wattstream/home/house/grid/state")!).GetProperty("total_import_Wh").GetDouble());

        // The site's summary and its self-sufficiency sensor.
        await Eventually.UntilAsync(() => homeAssistant.Messages.Any(m => m.Topic == "homeassistant/sensor/wattstream_home_house_self_sufficiency_today/config") && live.Last("wattstream/home/house/summary") is not null, "the site's self-sufficiency sensor and summary");
        var selfSufficiency = Json(homeAssistant.Messages.Last(m => m.Topic == "homeassistant/sensor/wattstream_home_house_self_sufficiency_today/config"));
        Assert.Equal("wattstream/home/house/summary", selfSufficiency.GetProperty("state_topic").GetString());
        Assert.Equal("%", selfSufficiency.GetProperty("unit_of_measurement").GetString());
        Assert.Equal("house", Json(live.Last("wattstream/home/house/summary")!).GetProperty("site").GetString());

        // The org that was not chosen: nothing of it, neither states nor discovery.
        Assert.DoesNotContain(live.Messages.Concat(homeAssistant.Messages), m => m.Topic.Contains("neighbour", StringComparison.Ordinal) || m.Payload.Contains("neighbour", StringComparison.Ordinal));

        // Killed: the broker delivers the last will, retained for whoever subscribes later.
        await hub.KillAsync();
        await Eventually.UntilAsync(() => live.Last("wattstream/status")?.Payload == "offline", "the hub's last will", TimeSpan.FromSeconds(60));
        await using var later = await BrokerWatcher.StartAsync(_broker, "wattstream/status");
        await Eventually.UntilAsync(() => later.Last("wattstream/status") is { Payload: "offline", Retained: true }, "offline retained");
    }

    [Fact]
    public async Task A_graceful_stop_says_offline_and_every_org_is_published_on_a_loopback_hub_without_tokens()
    {
        await using var hub = await RunningHub.StartAsync(_data, null, "--Simulation:Enabled=false", $"--Mqtt:Publish:Url={_broker.Url}", "--Mqtt:Publish:Prefix=hub/one");
        await using var live = await BrokerWatcher.StartAsync(_broker, "hub/#");
        await Eventually.UntilAsync(() => live.Last("hub/one/status")?.Payload == "online", "the hub's availability online");

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await PushAsync(hub, $$"""{"org":"a","site":"s","device":"d","der":"pv","type":"pv","timestamp":{{now}},"W":-2000,"total_generation_Wh":10}""");
        await PushAsync(hub, $$"""{"org":"b","site":"s","device":"d","der":"pv","type":"pv","timestamp":{{now}},"W":-1000}""");
        await Eventually.UntilAsync(() => live.Last("hub/one/a/s/pv/state") is not null && live.Last("hub/one/b/s/pv/state") is not null, "both orgs' states");

        Assert.Equal(0, await hub.TerminateAsync());
        await using var later = await BrokerWatcher.StartAsync(_broker, "hub/one/status", "homeassistant/#");
        await Eventually.UntilAsync(() => later.Last("hub/one/status") is { Payload: "offline", Retained: true }, "offline retained after the stop");
        var generated = Json(later.Messages.Single(m => m.Topic == "homeassistant/sensor/wattstream_a_s_d_pv_energy_out/config"));
        Assert.Equal("hub/one/status", generated.GetProperty("availability_topic").GetString());
        Assert.Equal("hub/one/a/s/pv/state", generated.GetProperty("state_topic").GetString());
    }

    [Fact]
    public async Task A_hub_with_tokens_must_name_the_orgs_it_publishes()
    {
        var (exitCode, output, errors) = await WattstreamProcess.RunAsync(
            ["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={_data}", "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}",
                $"--Mqtt:Publish:Url=mqtt://u:hunter2@127.0.0.1:{_broker.Port}", "--Mqtt:Publish:Username=u", "--Mqtt:Publish:Password=s3cret-pw", "--Mqtt:Publish:Orgs:0=home"]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Mqtt:Publish:Url", output + errors, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", output + errors, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", output + errors, StringComparison.Ordinal);

        (exitCode, output, errors) = await WattstreamProcess.RunAsync(
            ["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={_data}", "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}",
                $"--Mqtt:Publish:Url={_broker.Url}"]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Mqtt:Publish:Orgs", output + errors, StringComparison.Ordinal);
        Assert.Equal(1, (output + errors).Split("name the orgs").Length - 1); // one clear message
    }

    private static async Task PushAsync(RunningHub hub, string json)
    {
        using var response = await hub.Client.PostAsync("/api/readings", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static JsonElement Json(BrokerMessage message) => JsonDocument.Parse(message.Payload).RootElement.Clone();
}
