using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Wattstream.LoadTool;

// Fan-out load: N clients of one transport subscribe; one publisher posts readings as fast as the server takes them
// (or at --rate); the run reports delivered messages/s, latency percentiles (publish time travels in the payload,
// one machine, one clock), losses, connection set-up rate, and the server's CPU seconds and peak RSS from /proc.
var target = new Option<string>("--target") { Description = "wattstream-sse, wattstream-ws, signalr, node-ws or nats", Required = true };
var url = new Option<string>("--url") { Description = "The server's base URL (loopback only).", Required = true };
var clients = new Option<int>("--clients") { DefaultValueFactory = _ => 100 };
var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 10 };
var rate = new Option<int>("--rate") { Description = "Readings per second to publish; 0 = as fast as the server accepts.", DefaultValueFactory = _ => 0 };
var batch = new Option<int>("--batch") { Description = "Readings per publish request.", DefaultValueFactory = _ => 50 };
var pid = new Option<int?>("--server-pid") { Description = "Read the server's CPU and RSS from /proc." };
var output = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file." };
var root = new RootCommand("Wattstream fan-out load generator") { target, url, clients, seconds, rate, batch, pid, output };
root.SetAction(async (result, cancellationToken) =>
{
    var server = new Uri(result.GetValue(url)!);
    if (!server.IsLoopback)
    {
        Console.Error.WriteLine("Load only ever targets loopback addresses.");
        return 2;
    }

    var run = await RunAsync(result.GetValue(target)!, server, result.GetValue(clients), TimeSpan.FromSeconds(result.GetValue(seconds)), result.GetValue(rate), result.GetValue(batch), result.GetValue(pid));
    var json = JsonSerializer.Serialize(run);
    Console.WriteLine(json);
    if (result.GetValue(output) is { } file)
    {
        await File.AppendAllTextAsync(file.FullName, json + "\n", cancellationToken);
    }

    return 0;
});
var results = new Argument<FileInfo>("results") { Description = "The JSON lines written by --json." };
var report = new Command("report", "Turn result lines into a markdown table: medians with min–max per target and client count, and ratios against Wattstream SSE.") { results };
report.SetAction(result =>
{
    Console.Write(Report.Markdown(File.ReadAllLines(result.GetValue(results)!.FullName)));
    return 0;
});
root.Subcommands.Add(report);
var clientsOf = new Option<int>("--clients") { Required = true };
var half = new Command("half-rate", "Half the median publish rate Wattstream SSE sustained at max rate for that client count (for the latency pass).") { results, clientsOf };
half.SetAction(result =>
{
    Console.WriteLine(Report.HalfRate(File.ReadAllLines(result.GetValue(results)!.FullName), result.GetValue(clientsOf)));
    return 0;
});
root.Subcommands.Add(half);
return await root.Parse(args).InvokeAsync();

static async Task<LoadResult> RunAsync(string target, Uri server, int clientCount, TimeSpan duration, int rate, int batchSize, int? serverPid)
{
    var latencies = new LatencyHistogram();
    var stats = serverPid is { } p ? new ServerProcessStats(p) : null;
    var rssBefore = stats?.RssBytes() ?? 0;

    var publisher = await Publisher.CreateAsync(target, server);

    // One reading before anyone connects, so the hub knows the site; its sequence is before the measured ones.
    var prime = new StringBuilder();
    AppendReading(prime, -1);
    await publisher.PublishAsync(prime.ToString());

    // Connect everyone first; the set-up rate is part of the result.
    var connect = Stopwatch.StartNew();
    var all = Enumerable.Range(0, clientCount).Select(_ => LoadClient.Create(target)).ToArray();
    using (var throttle = new SemaphoreSlim(64))
    {
        await Task.WhenAll(all.Select(async c =>
        {
            await throttle.WaitAsync();
            try
            {
                await c.ConnectAsync(server, CancellationToken.None);
            }
            finally
            {
                throttle.Release();
            }
        }));
    }

    var connectSeconds = connect.Elapsed.TotalSeconds;
    await Task.Delay(500); // subscriptions settle
    var rssConnected = stats?.RssBytes() ?? 0;

    using var stop = new CancellationTokenSource();
    var readers = all.Select(c => Task.Run(() => c.RunAsync(latencies, stop.Token))).ToArray();
    var cpuBefore = stats?.CpuSeconds() ?? 0;
    var sampler = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            stats?.RssBytes();
            await Task.Delay(200).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    });

    // Publish.
    var published = 0L;
    var clock = Stopwatch.StartNew();
    var line = new StringBuilder(16 * 1024);
    while (clock.Elapsed < duration)
    {
        line.Clear();
        for (var i = 0; i < batchSize; i++)
        {
            AppendReading(line, published + i);
        }

        await publisher.PublishAsync(line.ToString());
        published += batchSize;
        if (rate > 0)
        {
            var due = TimeSpan.FromSeconds(published / (double)rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }
        }
    }

    var publishSeconds = clock.Elapsed.TotalSeconds;
    await Task.Delay(1000); // let the last messages arrive
    var cpu = (stats?.CpuSeconds() ?? 0) - cpuBefore;
    await stop.CancelAsync();
    await Task.WhenAll(readers.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
    await sampler;

    await publisher.DisposeAsync();
    var received = all.Sum(c => c.Received);
    var expected = published * clientCount;
    return new LoadResult(
        target, clientCount, rate, published, publishSeconds, received, expected, expected - received,
        received / publishSeconds,
        latencies.Percentile(0.50), latencies.Percentile(0.99), latencies.Percentile(0.999),
        clientCount / connectSeconds,
        cpu,
        stats?.PeakRssBytes ?? 0,
        clientCount == 0 ? 0 : (rssConnected - rssBefore) / clientCount);
}

static void AppendReading(StringBuilder sb, long seq)
{
    // Timestamps start at this run's start, so a second run against the same hub is not taken for duplicates.
    // A meter reading of about the seed payload's size (~560 bytes), with its sequence and publish time (UTC ticks).
    sb.Append(CultureInfo.InvariantCulture,
        $$"""{"org":"bench","site":"bench","device":"gw","der":"meter","type":"meter","timestamp":{{RunStart.Milliseconds + seq}},"read_time_ms":20,"W":1234.5,"Hz":50.01,"L1_V":230.1,"L1_A":5.21,"L1_W":1200.5,"L2_V":229.8,"L2_A":0.12,"L2_W":20.25,"L3_V":230.4,"L3_A":0.07,"L3_W":14.5,"total_import_Wh":47251000,"total_export_Wh":8965000,"make":"bench","note":"fan-out benchmark payload padded to the size of a whatwatt live event with its many registers","firmware":"1.10.0","meter_id":"62124022443","seq":{{seq}},"pub":{{DateTime.UtcNow.Ticks}}}""");
    sb.Append('\n');
}

internal static class RunStart
{
    public static readonly long Milliseconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}

internal sealed record LoadResult(
    string Target,
    int Clients,
    int RequestedRate,
    long Published,
    double Seconds,
    long Received,
    long Expected,
    long Lost,
    double DeliveredPerSecond,
    long P50Micros,
    long P99Micros,
    long P999Micros,
    double ConnectionsPerSecond,
    double ServerCpuSeconds,
    long ServerPeakRssBytes,
    long RssPerConnectionBytes);
