using System.Diagnostics;

namespace Wattstream.Server.Tests;

/// <summary>The executable as an operator runs it: a mistyped command or a bad setting is a message and a non-zero exit.</summary>
public class CommandLineTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var (exit, output, errors) = await WattstreamProcess.RunAsync(
            args, environment: new Dictionary<string, string> { ["Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), $"wattstream-cli-{Guid.NewGuid():N}") });
        return (exit, output + errors);
    }

    [Theory]
    [InlineData("tokens", "create")]
    [InlineData("sevre")]
    [InlineData("--urls", "http://127.0.0.1:0", "tial")]
    public async Task An_unknown_command_is_an_error_and_no_server_starts(params string[] args)
    {
        var (exit, output) = await RunAsync(args);

        Assert.NotEqual(0, exit);
        Assert.Contains("unknown command", output, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", output, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("--Simulation:Interval=soon", "Simulation:Interval")]
    [InlineData("--Hub:ReplayCapacity=1", "ReplayCapacity")]
    [InlineData("--Sources:0:Kind=Whatwatt", "Sources:0")]
    public async Task A_bad_setting_names_itself_without_a_stack_trace(string setting, string named)
    {
        var (exit, output) = await RunAsync("--urls", "http://127.0.0.1:0", setting);

        Assert.NotEqual(0, exit);
        Assert.Contains("cannot start", output, StringComparison.Ordinal);
        Assert.Contains(named, output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--devices must be between 1 and 10000", "--devices", "0")]
    [InlineData("--faults is for one device", "--devices", "3", "--faults", "all")]
    [InlineData("--spread spreads whole-second reports: it needs --whole-seconds", "--devices", "3", "--spread")]
    public async Task A_whatwatt_fleet_that_cannot_be_is_refused_by_name(string message, params string[] args)
    {
        var (exit, output) = await RunAsync(["emulate", "whatwatt", .. args]);

        Assert.NotEqual(0, exit);
        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tasmota", "--devices must be between 1 and 10000", "--devices", "0")]
    [InlineData("shelly", "--qos must be 0 or 1", "--qos", "2")]
    [InlineData("tasmota", "--interval must be a duration", "--interval", "soon")]
    [InlineData("shelly", "--broker must be an mqtt:// or mqtts:// URL", "--broker", "http://127.0.0.1:1883")]
    [InlineData("tasmota", "--topic-prefix must be", "--topic-prefix", "tele/#")]
    [InlineData("tasmota", "--password needs --username", "--password", "s3cret")]
    public async Task An_mqtt_emulator_with_a_bad_argument_is_refused_by_name(string family, string message, params string[] args)
    {
        var (exit, output) = await RunAsync(["emulate", family, .. args]);

        Assert.NotEqual(0, exit);
        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_mqtt_emulator_whose_broker_does_not_answer_says_so_and_exits()
    {
        var port = LoopbackPort.Free(); // nothing listens there
        var (exit, output) = await RunAsync("emulate", "shelly", "--broker", $"mqtt://127.0.0.1:{port}");

        Assert.Equal(1, exit);
        Assert.Contains($"cannot connect to the broker mqtt://127.0.0.1:{port}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_check_passes_a_sound_configuration_and_names_a_bad_setting()
    {
        var (okExit, okOutput) = await RunAsync("config", "check", "--urls", "http://127.0.0.1:9123");
        var (badExit, badOutput) = await RunAsync("config", "check", "--Simulation:Interval=soon");

        Assert.Equal(0, okExit);
        Assert.Contains("sound", okOutput, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:9123", okOutput, StringComparison.Ordinal);
        Assert.Equal(1, badExit);
        Assert.Contains("Simulation:Interval", badOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", badOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_check_lists_every_bad_setting_with_its_key_and_value_but_never_a_secrets_value()
    {
        var (exit, output) = await RunAsync("config", "check", "--Hub:ReplayCapacity=1", "--Limits:MaxStreamsPerCaller=-5", "--Auth:Mode=token", "--Auth:HmacSecret=short-secret-value", "--Nats:Retention=00:00:01",
            "--Alerts:Rules:0:Id=v", "--Alerts:Rules:0:Type=volts", "--Alerts:Webhooks:0:Url=https://127.0.0.1/hook", "--Alerts:Webhooks:0:Secret=hook-short");

        Assert.Equal(1, exit);
        Assert.Contains("Hub:ReplayCapacity = '1'", output, StringComparison.Ordinal);
        Assert.Contains("Limits:MaxStreamsPerCaller = '-5'", output, StringComparison.Ordinal);
        Assert.Contains("Nats:Retention = '00:00:01'", output, StringComparison.Ordinal);
        Assert.Contains("Auth:HmacSecret", output, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret-value", output, StringComparison.Ordinal);
        Assert.Contains("Alerts:Rules:0:Type = 'volts': Must be one of high_consumption", output, StringComparison.Ordinal);
        Assert.Contains("Alerts:Webhooks:0:Secret", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hook-short", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listening_beyond_loopback_without_authentication_is_refused_unless_asked_for()
    {
        var (exit, output) = await RunAsync("config", "check", "--urls", "http://0.0.0.0:9124");

        Assert.Equal(1, exit);
        Assert.Contains("Auth:Mode is none", output, StringComparison.Ordinal);
        Assert.Contains("--Auth:Mode=token", output, StringComparison.Ordinal);
        Assert.Contains("--insecure", output, StringComparison.Ordinal);

        var (insecureExit, insecureOutput) = await RunAsync("config", "check", "--urls", "http://0.0.0.0:9124", "--insecure");
        Assert.Equal(0, insecureExit);
        Assert.Contains("sound", insecureOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listening_beyond_loopback_with_tokens_is_sound_and_token_mode_without_a_key_is_not()
    {
        var (exit, output) = await RunAsync("config", "check", "--urls", "http://0.0.0.0:9124", "--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}");
        var (noKeyExit, noKeyOutput) = await RunAsync("config", "check", "--Auth:Mode=token");
        var (shortExit, shortOutput) = await RunAsync("config", "check", "--Auth:Mode=token", "--Auth:HmacSecret=too-short-a-secret");

        Assert.Equal(0, exit);
        Assert.Contains("sound", output, StringComparison.Ordinal);
        Assert.Equal(1, noKeyExit);
        Assert.Contains("Auth:HmacSecret", noKeyOutput, StringComparison.Ordinal);
        Assert.Equal(1, shortExit);
        Assert.Contains("at least 32 bytes", shortOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short-a-secret", shortOutput, StringComparison.Ordinal); // a secret is never echoed
    }

    [Fact]
    public async Task Token_create_prints_a_token_the_hub_accepts_with_the_claims_asked_for()
    {
        var (exit, output) = await RunAsync("token", "create", "--org", "demo", "--sites", "site-2", "--scopes", "read,publish", "--ttl", "5m", $"--Auth:HmacSecret={AuthTests.Secret}");
        var (badExit, badOutput) = await RunAsync("token", "create", "--org", "demo", "--scopes", "write", "--ttl", "soon", $"--Auth:HmacSecret={AuthTests.Secret}");
        var (noKeyExit, noKeyOutput) = await RunAsync("token", "create", "--org", "demo");

        Assert.Equal(0, exit);
        var token = output.Trim();
        Assert.Equal(3, token.Split('.').Length); // the token alone, nothing else on standard output
        await using var host = await AuthTests.StartTokenHostAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        request.Headers.Authorization = new("Bearer", token);
        var sites = await (await host.Client.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.Contains("\"site\":\"site-2\"", sites, StringComparison.Ordinal);
        Assert.DoesNotContain("site-1", sites, StringComparison.Ordinal);

        Assert.Equal(1, badExit);
        Assert.Contains("--scopes", badOutput, StringComparison.Ordinal);
        Assert.Contains("--ttl", badOutput, StringComparison.Ordinal);
        Assert.Equal(1, noKeyExit);
        Assert.Contains("Auth:HmacSecret", noKeyOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_json_formatter_every_log_line_is_json_and_no_secret_is_in_any()
    {
        const string secret = "json-log-test-secret-0123456789abcdef";
        const string sourcePassword = "device-password-in-env";
        using var down = LoopbackPort.Closed(out var sourcePort); // the source's device: nothing listens there
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "wattstream.dll"), "--urls", "http://127.0.0.1:0", "--Logging:Console:FormatterName=json",
            "--Auth:Mode=token", "--Simulation:Enabled=true",
            "--Sources:0:Id=home", "--Sources:0:Kind=whatwatt", $"--Sources:0:Url=http://127.0.0.1:{sourcePort}",
        })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["Auth__HmacSecret"] = secret;
        start.Environment["Sources__0__Password"] = sourcePassword;
        start.Environment["Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), $"wattstream-cli-{Guid.NewGuid():N}");
        using var process = Process.Start(start)!;
        var lines = new List<string>();
        try
        {
            using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            async Task ReadUntilAsync(Func<string, bool> seen)
            {
                while (!lines.Any(seen) && await process.StandardOutput.ReadLineAsync(reading.Token) is { } line)
                {
                    lines.Add(line);
                }
            }

            await ReadUntilAsync(l => l.Contains("listening", StringComparison.Ordinal));
            var address = RunningHub.ListeningLine().Match(lines.Last()).Groups[1].Value; // the port the hub bound (port 0)
            using var client = new HttpClient();
            (await client.GetAsync($"{address}/api/sites?access_token={secret}")).Dispose(); // a refused request, logged
            await ReadUntilAsync(l => l.Contains("Source home", StringComparison.Ordinal) && !l.Contains(" reads ", StringComparison.Ordinal)); // the source fails to connect, and says so
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        lines.AddRange((await process.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(lines, l => l.Contains("listening", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.NotNull(System.Text.Json.Nodes.JsonNode.Parse(l)));
        Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal) || l.Contains(sourcePassword, StringComparison.Ordinal));
    }
}
