namespace Wattstream.Server.Tests;

public class MetricsTests
{
    [Fact]
    public async Task Metrics_are_scraped_in_prometheus_text_with_the_hubs_series_and_the_runtimes()
    {
        await using var host = await WattstreamHost.StartAsync();
        await SseClient.ReadAsync(host.Client, "/api/v1/live", 1, TimeSpan.FromSeconds(10));

        var text = await host.Client.GetStringAsync("/metrics");

        Assert.Contains("# TYPE wattstream_readings_accepted ", text, StringComparison.Ordinal);
        // (other hosts of the test run share the process, and with it the exporter: any series line will do)
        var accepted = text.Split('\n').Where(l => l.StartsWith("wattstream_readings_accepted ", StringComparison.Ordinal)).ToArray();
        Assert.Contains(accepted, l => double.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains("wattstream_connections{transport=\"sse\"}", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_ders ", text, StringComparison.Ordinal);
        Assert.Contains("wattstream_storage_queue", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal); // the runtime's own
    }
}
