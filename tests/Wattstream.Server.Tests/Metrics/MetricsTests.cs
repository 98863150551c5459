namespace Wattstream.Server.Tests;

public class MetricsTests
{
    [Fact]
    public async Task Metrics_are_scraped_in_prometheus_text_with_the_hubs_series_and_the_runtimes()
    {
        await using var host = await WattstreamHost.StartAsync();
        await SseClient.ReadAsync(host.Client, "/api/v1/live", 1, TimeSpan.FromSeconds(10));
        using (var open = await host.Client.GetAsync("/stream/sites/site-1", HttpCompletionOption.ResponseHeadersRead))
        {
            var during = await host.Client.GetStringAsync("/metrics");
            Assert.Contains("wattstream_connections{family=\"novacore\",transport=\"sse\"} 1", during, StringComparison.Ordinal);
        }

        await Eventually.UntilAsync(async () => (await host.Client.GetStringAsync("/metrics")).Contains("family=\"novacore\",transport=\"sse\"} 0", StringComparison.Ordinal), "a closed stream's series goes to 0");
        var text = await host.Client.GetStringAsync("/metrics");

        Assert.Contains("# TYPE wattstream_readings_accepted_total ", text, StringComparison.Ordinal);
        // One series: other hosts of the test run share the process (and its meter names) but not this host's registry.
        var accepted = Assert.Single(text.Split('\n'), l => l.StartsWith("wattstream_readings_accepted_total ", StringComparison.Ordinal));
        Assert.True(double.Parse(accepted.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0, accepted);
        Assert.Contains("wattstream_connections{family=\"whatwatt\",transport=\"sse\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_frames_sent_total ", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_dropped_total{reason=\"slow_client\"}", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_subscriber_backlog ", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_ders ", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_storage_queue", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_alerts_firing", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_alerts_suppressed_total", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal); // the process's
        Assert.Contains("system_runtime_dotnet_gc_collections", text, StringComparison.Ordinal); // the runtime's meter
        Assert.Contains("microsoft_aspnetcore_server_kestrel_kestrel_active_connections", text, StringComparison.Ordinal); // this host's Kestrel
        Assert.DoesNotContain("memory_pool", text, StringComparison.Ordinal); // a record per rented block: not listened to (hot path)
    }
}
