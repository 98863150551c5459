using System.Diagnostics;

namespace Wattstream.Server.Tests;

/// <summary>The executable as an operator runs it: a mistyped command or a bad setting is a message and a non-zero exit.</summary>
public class CommandLineTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "wattstream.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), $"wattstream-cli-{Guid.NewGuid():N}");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true); // it started a server instead of refusing
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [Theory]
    [InlineData("token", "create")]
    [InlineData("sevre")]
    [InlineData("--urls", "http://127.0.0.1:0", "tail")]
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
    public async Task Listening_beyond_loopback_without_authentication_is_refused_unless_asked_for()
    {
        var (exit, output) = await RunAsync("config", "check", "--urls", "http://0.0.0.0:9124");

        Assert.Equal(1, exit);
        Assert.Contains("no authentication", output, StringComparison.Ordinal);
        Assert.Contains("--Insecure=true", output, StringComparison.Ordinal);
    }
}
