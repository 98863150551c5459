using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Wattstream.Server.Tests;

/// <summary>Real Chromium, driven by playwright-core from tests/e2e (scripts/test.sh installs both).</summary>
public class BrowserTests
{

    internal static async Task<(int ExitCode, string Output)> RunNodeAsync(string script, params string[] args)
    {
        var e2e = Path.Combine(RepoFiles.Root, "tests", "e2e");
        var start = new ProcessStartInfo("node") { WorkingDirectory = e2e, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task A_page_on_another_origin_receives_live_events_through_EventSource()
    {
        await using var hub = await WattstreamHost.StartAsync();
        var live = new Uri(hub.BaseAddress, "/api/v1/live");

        // A second server is the page's origin: another port is another origin.
        var page = WebApplication.CreateSlimBuilder();
        page.WebHost.UseUrls("http://127.0.0.1:0");
        await using var pageApp = page.Build();
        pageApp.MapGet("/", () => Results.Content(
            $$"""
            <!doctype html><html><head><link rel="icon" href="data:,"></head><body><script>
              window.received = [];
              const source = new EventSource("{{live}}", { withCredentials: true });
              source.addEventListener("live", (e) => window.received.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
            </script></body></html>
            """,
            "text/html"));
        await pageApp.StartAsync();
        var pageUrl = pageApp.Urls.Single();

        var (exitCode, output) = await RunNodeAsync("eventsource-cross-origin.mjs", pageUrl, "3");

        Assert.True(exitCode == 0, output);
        var result = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith('{')))!;
        Assert.Empty(result["consoleErrors"]!.AsArray());
        Assert.Empty(result["pageErrors"]!.AsArray());
        var events = result["events"]!.AsArray();
        Assert.True(events.Count >= 3);
        Assert.All(events, e =>
        {
            Assert.Matches(@"^\d+-\d+$", (string)e!["id"]!);
            Assert.NotNull(e["data"]!["P_In"]);
        });
        Assert.NotEqual(new Uri(pageUrl).Port, hub.BaseAddress.Port);
    }
}
