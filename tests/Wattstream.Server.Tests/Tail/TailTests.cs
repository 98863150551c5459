using System.Text.Json.Nodes;
using Wattstream.Emulators.Faults;
using Wattstream.Emulators.Whatwatt;

namespace Wattstream.Server.Tests;

/// <summary><c>wattstream tail</c> as a person runs it: the table under a pseudo-terminal, raw lines with --json.</summary>
public class TailTests
{
    private static Task<(int ExitCode, string Output, string Errors)> RunAsync(bool terminal, params string[] args) =>
        WattstreamProcess.RunAsync(args, terminal);

    [Fact]
    public async Task Under_a_terminal_a_site_stream_is_a_table_with_a_row_per_der_and_units()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.200");

        var (exit, screen, _) = await RunAsync(true, "tail", new Uri(host.BaseAddress, "/stream/sites/site-1").ToString(), "--count", "12");

        Assert.Equal(0, exit);
        Assert.Contains("\u001b[", screen, StringComparison.Ordinal); // drawn for a terminal, in place
        foreach (var row in new[] { "meter", "pv", "battery", "v2x_charger" })
        {
            Assert.Contains($"│ {row} ", screen, StringComparison.Ordinal);
        }

        Assert.Contains("ActivePower", screen, StringComparison.Ordinal);
        Assert.Contains(" W ", screen, StringComparison.Ordinal);
        Assert.Contains("12 events", screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_json_each_event_is_a_line_and_a_device_password_is_answered_like_the_device()
    {
        await using var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = "tail-pw", Interval = TimeSpan.FromMilliseconds(200), Seed = 3 }, _ => { });
        await emulator.StartAsync();
        var live = new Uri(emulator.BaseAddress, "/api/v1/live").ToString();

        var (exit, output, _) = await RunAsync(false, "tail", live, "--password", "tail-pw", "--json", "--count", "3");
        var (refusedExit, _, refused) = await RunAsync(false, "tail", live, "--password", "wrong", "--json", "--count", "1");
        var (bareExit, _, bare) = await RunAsync(false, "tail", live, "--json", "--count", "1");

        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.NotNull(JsonNode.Parse(l)!["P_In"]));
        Assert.Equal(1, refusedExit);
        Assert.Contains("refused", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", refused, StringComparison.Ordinal);
        Assert.Equal(1, bareExit);
        Assert.Contains("--password", bare, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cut_stream_is_followed_again_and_tail_says_so()
    {
        await using var emulator = WhatwattEmulator.Create(new WhatwattEmulatorOptions
        {
            Port = 0, Interval = TimeSpan.FromMilliseconds(150), Seed = 5, Faults = [FaultKind.CutMidEvent], FaultEvery = 3,
        }, _ => { });
        await emulator.StartAsync();

        var (exit, output, errors) = await RunAsync(false, "tail", new Uri(emulator.BaseAddress, "/api/v1/live").ToString(), "--json", "--count", "5");

        Assert.Equal(0, exit);
        Assert.Equal(5, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("reconnecting", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_hubs_websocket_is_followed_on_a_subject()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=00:00:00.200");
        var ws = new UriBuilder(host.BaseAddress) { Scheme = "ws", Path = "/ws" }.Uri.ToString();

        var (exit, output, _) = await RunAsync(false, "tail", ws, "--subject", "orgs.demo.sites.site-3.>", "--json", "--count", "4");

        Assert.Equal(0, exit);
        var readings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal(4, readings.Length);
        Assert.All(readings, r => Assert.NotNull(r["type"]));
    }

    [Fact]
    public async Task A_url_that_is_not_a_stream_is_a_message_and_exit_2()
    {
        var (exit, _, errors) = await RunAsync(false, "tail", "ftp://127.0.0.1/x");

        Assert.Equal(2, exit);
        Assert.Contains("not a stream URL", errors, StringComparison.Ordinal);
    }
}
