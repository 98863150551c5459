using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>The fan-out load tool (bench/) runs a tiny scenario end to end against a real host. Its figures are a benchmark's, not asserted here.</summary>
public class LoadToolTests
{
    [Theory]
    [InlineData("wattstream-sse")]
    [InlineData("wattstream-ws")]
    public async Task The_load_tool_runs_a_tiny_scenario(string target)
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false", "--Storage:Enabled=false");
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var tool = Path.Combine(BrowserTests.RepoRoot(), "bench", "Wattstream.LoadTool", "bin", configuration, "net10.0", "Wattstream.LoadTool.dll");
        Assert.True(File.Exists(tool), $"{tool} is built with the solution");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { tool, "--target", target, "--url", host.BaseAddress.ToString(), "--clients", "3", "--seconds", "1", "--batch", "5", "--server-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, error);
        var result = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith('{')))!;
        Assert.Equal(target, (string?)result["Target"]);
        Assert.True((long)result["Published"]! > 0);
        Assert.Equal((long)result["Expected"]!, (long)result["Received"]!); // three healthy clients lose nothing
        Assert.True((long)result["P99Micros"]! > 0);
        Assert.True((long)result["ServerPeakRssBytes"]! > 0);
    }
}
