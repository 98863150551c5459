using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Wattstream.Server.Composition.Settings;
using Wattstream.Sources.Http;

namespace Wattstream.Server.Tests;

/// <summary>
/// A setting nothing binds is an error, named with the closest known key: on the command line, in the environment, in
/// nested sections and list elements, and per source kind; keys of other owners (ASP.NET Core, Kestrel, Logging) and
/// unrelated environment variables are left alone.
/// </summary>
public class SettingsRegistryTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(string[] args, Dictionary<string, string>? environment = null)
    {
        environment ??= [];
        environment["Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), $"wattstream-settings-{Guid.NewGuid():N}");
        var (exit, output, errors) = await WattstreamProcess.RunAsync(args, environment: environment);
        return (exit, output + errors);
    }

    private static string[] Problems(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("wattstream:", StringComparison.Ordinal))];

    private static readonly string[] WhatwattSource = ["--Sources:0:Id=home", "--Sources:0:Kind=whatwatt", "--Sources:0:Url=http://127.0.0.1:1/"];

    [Fact]
    public async Task Config_check_names_an_unknown_key_with_the_closest_known_one_and_exits_1()
    {
        var (exit, output) = await RunAsync(["config", "check", "--Storage:Path=/x"]);

        Assert.Equal(1, exit);
        Assert.Equal(["wattstream: Storage:Path is not a setting; did you mean Storage:DataDirectory?"], Problems(output));
        Assert.DoesNotContain("sound", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_check_lists_every_unknown_key_one_line_each_in_nested_sections_and_list_elements()
    {
        var (exit, output) = await RunAsync(["config", "check", .. WhatwattSource, "--Sources:0:Pasword=x", "--Auth:DevicePassword=device-secret-value",
            "--Alerts:Webhooks:0:Url=https://127.0.0.1/hook", "--Alerts:Webhooks:0:Secret=sixteen-chars-long", "--Alerts:Webhooks:0:Secrit=y", "--Limits:MaxStreamPerCaller=3"]);

        var problems = Problems(output);
        Assert.Equal(1, exit);
        Assert.Equal(4, problems.Length);
        Assert.Contains("wattstream: Sources:0:Pasword is not a setting; did you mean Sources:0:Password?", problems);
        Assert.Contains("wattstream: Auth:DevicePassword is not a setting; did you mean Auth:Device:Password?", problems);
        Assert.Contains("wattstream: Alerts:Webhooks:0:Secrit is not a setting; did you mean Alerts:Webhooks:0:Secret?", problems);
        Assert.Contains("wattstream: Limits:MaxStreamPerCaller is not a setting; did you mean Limits:MaxStreamsPerCaller?", problems);
        Assert.DoesNotContain("device-secret-value", output, StringComparison.Ordinal); // an unknown key's value is never shown
    }

    [Fact]
    public async Task A_source_kind_no_plug_in_provides_is_named_with_the_kinds_there_are()
    {
        var (exit, output) = await RunAsync(["config", "check", "--Sources:0:Id=home", "--Sources:0:Kind=bogus", "--Sources:0:Url=http://127.0.0.1:1/"]);

        Assert.Equal(1, exit);
        Assert.Equal(["wattstream: Sources:0:Kind = 'bogus' is not one of whatwatt, dersim, sse, nats, mqtt."], Problems(output));
    }

    [Fact]
    public async Task A_source_setting_of_another_kind_is_named_and_the_kinds_that_take_it()
    {
        var (exit, output) = await RunAsync(["config", "check", .. WhatwattSource, "--Sources:0:DeviceIndex=2", "--Sources:0:Token=bearer-token-value"]);

        Assert.Equal(1, exit);
        Assert.Contains("wattstream: Sources:0:DeviceIndex is not a setting of a whatwatt source (dersim sources take it).", Problems(output));
        Assert.Contains("wattstream: Sources:0:Token is not a setting of a whatwatt source (sse and nats sources take it).", Problems(output));
        Assert.DoesNotContain("bearer-token-value", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_mqtt_sources_settings_are_named_on_another_kind_and_an_unknown_format_stops_the_start()
    {
        var (exit, output) = await RunAsync(["config", "check", .. WhatwattSource, "--Sources:0:Topics:0=tele/+/SENSOR"]);
        var (serveExit, serveOutput) = await RunAsync(["--urls", "http://127.0.0.1:0", "--Sources:0:Id=broker", "--Sources:0:Kind=mqtt",
            "--Sources:0:Url=mqtt://127.0.0.1:1", "--Sources:0:Format=shelly-gen9"]);

        Assert.Equal(1, exit);
        Assert.Equal(["wattstream: Sources:0:Topics is not a setting of a whatwatt source (mqtt sources take it)."], Problems(output));
        Assert.NotEqual(0, serveExit);
        Assert.Contains("Format of an mqtt source must be one of tasmota, shelly-gen2, shelly-gen1, evcc, opendtu, victron, json (was 'shelly-gen9')", serveOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", serveOutput, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_bad_json_mapping_stops_the_start_naming_its_key_and_a_misspelt_one_is_named_by_config_check()
    {
        string[] source = ["--Sources:0:Id=plug", "--Sources:0:Kind=mqtt", "--Sources:0:Url=mqtt://127.0.0.1:1", "--Sources:0:Format=json",
            "--Sources:0:Mappings:0:Topic=tele/+/SENSOR", "--Sources:0:Mappings:0:Type=meter", "--Sources:0:Mappings:0:Device={1}",
            "--Sources:0:Mappings:0:Fields:ActivePower:Unit=W"];
        var (serveExit, serveOutput) = await RunAsync(["--urls", "http://127.0.0.1:0", .. source, "--Sources:0:Mappings:0:Fields:ActivePower:Path=SML..Power_curr"]);
        var (checkExit, checkOutput) = await RunAsync(["config", "check", .. source, "--Sources:0:Mappings:0:Fields:ActivePower:Pth=SML.Power_curr"]);

        Assert.NotEqual(0, serveExit);
        Assert.Contains("Sources:0: Mappings:0:Fields:ActivePower:Path must be '$' or members and indexes", serveOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", serveOutput, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, checkExit);
        Assert.Contains(Problems(checkOutput), p => p.Contains("Sources:0:Mappings:0:Fields:ActivePower:Pth is not a setting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_full_valid_configuration_with_other_owners_keys_and_unrelated_environment_variables_is_sound()
    {
        var (exit, output) = await RunAsync(
        [
            "config", "check", "--urls", "http://127.0.0.1:9125",
            "--Hub:ReplayCapacity=4096", "--Hub:MaxDers=1000", "--Status:StaleAfter=00:00:30", "--Streaming:QueueCapacity=512", "--Streaming:HeartbeatInterval=00:00:10",
            "--Sse:RetryMilliseconds=2000", "--WebSockets:MaxSubscriptionsPerConnection=8", "--SourceTiming:BackoffBase=00:00:02", "--SourceTiming:MaxEventBytes=65536",
            .. WhatwattSource, "--Sources:0:Password=device-pw", "--Sources:0:AuthScheme=basic", "--Sources:0:TimeZone=Europe/Zurich", "--Sources:0:PollReport=00:00:05",
            "--Sources:0:Org=acme", "--Sources:0:Site=home", "--Sources:0:Der=62124022441",
            "--Sources:1:Id=sim", "--Sources:1:Kind=DerSim", "--Sources:1:Url=http://127.0.0.1:2/", "--Sources:1:DeviceIndex=0",
            "--Sources:2:Id=cloud", "--Sources:2:Kind=sse", "--Sources:2:Url=http://127.0.0.1:3/stream/sites/x", "--Sources:2:Token=cloud-token",
            "--Simulation:Enabled=true", "--Simulation:Sites=2", "--Simulation:EvChargerSites:0=2",
            "--Storage:Retention=7.00:00:00", "--Storage:BatchSize=1000",
            "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}", "--Auth:ClockSkew=00:00:10", "--Auth:Device:Password=device-pw", "--Auth:Device:Orgs:0=acme",
            "--Auth:Device:Sites:0=home", "--Auth:Device:Realm=whatwatt-9373A7", "--Auth:Device:Schemes=digest",
            "--Limits:MaxStreamsPerCaller=100", "--Limits:AuthFailuresPerMinutePerIp=50", "--Ingest:MaxConcurrentPushes=4",
            "--Cors:AllowedOrigins:0=https://app.example", "--Proxy:TrustedProxies:0=127.0.0.1",
            "--Alerts:Rules:0:Id=down", "--Alerts:Rules:0:Type=source_down", "--Alerts:Rules:0:Org=acme", "--Alerts:MaxRules=50",
            "--Alerts:Webhooks:0:Url=https://127.0.0.1/hook", "--Alerts:Webhooks:0:Secret=sixteen-chars-long", "--Alerts:Webhooks:0:Sites:0=home",
            "--Alerts:WebhookDelivery:MaxAttempts=3", "--Audit:MaxEntriesPerOrg=500", "--Energy:TodayRefresh=00:01:00",
            "--Sites:home:TimeZone=Europe/Zurich", "--Sites:home:Tariff:Currency=CHF", "--Sites:home:Tariff:Import=0.3", "--Sites:home:Tariff:Schedule:0:Days=Mon-Fri",
            "--Nats:Stream=TELEMETRY", "--Nats:Retention=1.00:00:00",
            "--Kestrel:Limits:MaxRequestBodySize=1048576", "--Logging:LogLevel:Default=Warning", "--AllowedHosts=*", "--SomethingElse:Entirely=1",
        ],
        new Dictionary<string, string> { ["Storge__DataDirectory"] = "/x", ["Hubb__Anything"] = "1", ["Logging__LogLevel__Microsoft"] = "Warning" });

        Assert.True(exit == 0, output);
        Assert.Contains("The configuration is sound", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_environment_variable_under_a_wattstream_section_is_checked_and_named_as_written()
    {
        var (exit, output) = await RunAsync(["config", "check"], new Dictionary<string, string> { ["Storage__Path"] = "/x" });

        Assert.Equal(1, exit);
        Assert.Equal(["wattstream: Storage:Path is not a setting (environment variable Storage__Path); did you mean Storage:DataDirectory?"], Problems(output));
    }

    [Fact]
    public async Task A_misspelt_section_on_the_command_line_is_named_but_not_one_in_the_environment()
    {
        var (exit, output) = await RunAsync(["config", "check", "--Storge:DataDirectory=/x"]);

        Assert.Equal(1, exit);
        Assert.Equal(["wattstream: Storge is not a setting; did you mean Storage?"], Problems(output));
    }

    [Fact]
    public async Task Serve_refuses_to_start_with_the_same_message_and_no_server()
    {
        var (exit, output) = await RunAsync(["--urls", "http://127.0.0.1:0", "--Storage:Path=/x", "--Sources:0:Id=home", "--Sources:0:Kind=bogus", "--Sources:0:Url=http://127.0.0.1:1/"]);

        Assert.Equal(1, exit);
        Assert.Equal(
            [
                "wattstream: cannot start: Sources:0:Kind = 'bogus' is not one of whatwatt, dersim, sse, nats, mqtt.",
                "wattstream: cannot start: Storage:Path is not a setting; did you mean Storage:DataDirectory?",
            ],
            Problems(output));
        Assert.DoesNotContain("listening", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_in_process_host_with_an_unknown_setting_does_not_build()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => WattstreamHost.StartAsync("--Hub:ReplayCapasity=64"));

        Assert.Contains("Hub:ReplayCapasity is not a setting; did you mean Hub:ReplayCapacity?", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Auth:Password", "x", "Auth:Password is not a setting; did you mean Auth:Device:Password?")]
    [InlineData("Auth:Devic:Password", "x", "Auth:Devic:Password is not a setting; did you mean Auth:Device:Password?")]
    [InlineData("Sites:home:Tarif:Import", "0.3", "Sites:home:Tarif:Import is not a setting; did you mean Sites:home:Tariff:Import?")]
    [InlineData("Hub:ReplayCapacity:Extra", "3", "Hub:ReplayCapacity:Extra is not a setting: Hub:ReplayCapacity takes a value, not settings under it.")]
    [InlineData("Auth:Device", "x", "Auth:Device is a group of settings, not a value")]
    [InlineData("Proxy:TrustedProxies", "127.0.0.1", "Proxy:TrustedProxies is a list, not a value: give Proxy:TrustedProxies:0=")]
    [InlineData("Auth:Mode", "tokn", "Auth:Mode = 'tokn' is not one of none, token.")]
    [InlineData("Simulation:Interval", "soon", "Simulation:Interval = 'soon' is not a duration")]
    [InlineData("Sources:0:DeviceIndex", "first", "Sources:0:DeviceIndex = 'first' is not a whole number.")]
    [InlineData("Nats:Usr", "x", "Nats:Usr is not a setting; did you mean Nats:User?")]
    public void The_registry_names_each_kind_of_problem(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:0:Id"] = "sim", ["Sources:0:Kind"] = "dersim", ["Sources:0:Url"] = "http://127.0.0.1:1/", [key] = value,
        }).Build();

        var problem = Assert.Single(WattstreamSettings.Registry.Check(configuration));

        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_source_setting_is_matched_only_with_settings_of_its_kind()
    {
        static string ProblemOf(string kind) => Assert.Single(WattstreamSettings.Registry.Check(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:0:Id"] = "a", ["Sources:0:Kind"] = kind, ["Sources:0:Url"] = "http://127.0.0.1:1/", ["Sources:0:Tokn"] = "x",
        }).Build()));

        var sse = ProblemOf("sse");
        var dersim = ProblemOf("dersim");

        Assert.Equal("Sources:0:Tokn is not a setting; did you mean Sources:0:Token?", sse);
        Assert.StartsWith("Sources:0:Tokn is not a setting; Sources:0 has ", dersim, StringComparison.Ordinal);
        Assert.Contains("DeviceIndex", dersim, StringComparison.Ordinal);
        Assert.DoesNotContain("Token", dersim, StringComparison.Ordinal); // a dersim source takes no token
    }

    [Fact]
    public void Free_maps_take_any_key_and_keys_of_other_owners_are_left_alone()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:0:Id"] = "gw", ["Sources:0:Kind"] = "nats", ["Sources:0:Url"] = "nats://127.0.0.1:4222",
            ["Sources:0:Gateways:GW-7"] = "acme/roof", ["Sources:0:Gateways:any serial at all"] = "acme/cellar",
            ["Sites:any-site-id:TimeZone"] = "Europe/Zurich", ["Sites:another:Tariff:Schedule:3:From"] = "07:00",
            ["Kestrel:Endpoints:Https:Url"] = "https://0.0.0.0:8443", ["Logging:Console:FormatterName"] = "json", ["AllowedHosts"] = "*", ["urls"] = "http://127.0.0.1:1",
            ["Storage"] = "a value on a section itself (an environment variable named STORAGE)", ["Simulation:Seed"] = "",
        }).Build();

        Assert.Empty(WattstreamSettings.Registry.Check(configuration));
    }

    [Fact]
    public void Every_options_type_of_an_options_section_is_registered_with_the_section_it_binds()
    {
        var optionsTypes = typeof(WattstreamApp).Assembly.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("Wattstream", StringComparison.Ordinal))
            .Select(System.Reflection.Assembly.Load).Append(typeof(WattstreamApp).Assembly)
            .SelectMany(a => a.GetTypes())
            .Where(t => t.GetField("SectionName") is { IsLiteral: true } && !t.Assembly.GetName().Name!.Contains("Emulators", StringComparison.Ordinal))
            .ToArray();

        Assert.NotEmpty(optionsTypes);
        Assert.All(optionsTypes, t => Assert.True(WattstreamSettings.Registry.Binds((string)t.GetField("SectionName")!.GetRawConstantValue()!, t), $"{t.Name} is not registered"));
    }
}

/// <summary>A device password guards the whatwatt device paths without tokens too; everything else stays open.</summary>
public sealed class DevicePasswordWithoutTokensTests : IAsyncLifetime
{
    private const string Password = "loopback-device-pass";

    private WattstreamHost _host = null!;

    public async Task InitializeAsync() => _host = await WattstreamHost.StartAsync($"--Auth:Device:Password={Password}");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Without_credentials_the_live_stream_is_401_with_the_devices_challenges()
    {
        using var live = await _host.Client.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead);
        var meter = await FirstMeterAsync(_host);
        using var underMeter = await _host.Client.GetAsync($"/meters/{meter}/api/v1/report");

        Assert.Equal(HttpStatusCode.Unauthorized, live.StatusCode);
        Assert.Equal(["Digest", "Basic"], live.Headers.WwwAuthenticate.Select(c => c.Scheme));
        Assert.Equal("unauthorized", (string?)JsonNode.Parse(await live.Content.ReadAsStringAsync())!["error"]);
        Assert.Equal(HttpStatusCode.Unauthorized, underMeter.StatusCode);
    }

    [Fact]
    public async Task With_the_password_the_live_stream_streams_and_a_wrong_one_is_401()
    {
        using var client = new HttpClient(new DeviceAuthClientHandler(Password) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = _host.BaseAddress };
        using var wrongClient = new HttpClient(new DeviceAuthClientHandler("not-the-password") { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = _host.BaseAddress };
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        using var live = await client.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var reader = new StreamReader(await live.Content.ReadAsStreamAsync(cancel.Token));
        string? line;
        do
        {
            line = await reader.ReadLineAsync(cancel.Token);
        }
        while (line is not null && line != "event: live");

        using var wrong = await wrongClient.GetAsync("/api/v1/report", cancel.Token);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("event: live", line);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Everything_but_the_device_paths_stays_open()
    {
        using var sites = await _host.Client.GetAsync("/api/sites");
        using var meters = await _host.Client.GetAsync("/api/meters");
        using var hes = await _host.Client.GetAsync("/api/sse/meters", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, sites.StatusCode);
        Assert.Equal(HttpStatusCode.OK, meters.StatusCode);
        Assert.Equal(HttpStatusCode.OK, hes.StatusCode);
    }

    [Fact]
    public async Task Orgs_and_sites_set_narrow_what_the_password_reads()
    {
        await using var host = await WattstreamHost.StartAsync($"--Auth:Device:Password={Password}", "--Auth:Device:Orgs:0=demo", "--Auth:Device:Sites:0=site-2");
        using var client = new HttpClient(new DeviceAuthClientHandler(Password, scheme: AuthScheme.Basic) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = host.BaseAddress };
        var meters = JsonNode.Parse(await host.Client.GetStringAsync("/api/meters"))!.AsArray();
        var site2 = meters.First(m => (string?)m!["site"] == "site-2")!["meterNo"]!.ToString();
        var site1 = meters.First(m => (string?)m!["site"] == "site-1")!["meterNo"]!.ToString();

        using var own = await client.GetAsync($"/meters/{site2}/api/v1/report");
        using var other = await client.GetAsync($"/meters/{site1}/api/v1/report");

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    private static async Task<string> FirstMeterAsync(WattstreamHost host) =>
        JsonNode.Parse(await host.Client.GetStringAsync("/api/meters"))!.AsArray()[0]!["meterNo"]!.ToString();
}
