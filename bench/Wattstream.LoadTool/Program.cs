using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Wattstream.LoadTool;

// Fan-out load: N clients of one transport subscribe; one publisher posts readings as fast as the server takes them
// (or at --rate); the run reports delivered messages/s, latency percentiles (publish time travels in the payload,
// one machine, one clock), losses, connection set-up rate, and the server's CPU seconds and peak RSS from /proc.
var target = new Option<string>("--target") { Description = "wattstream-sse, wattstream-ws, wattstream-nats, signalr, node-ws or nats", Required = true };
var url = new Option<string>("--url") { Description = "The server's base URL (loopback only).", Required = true };
var publishUrl = new Option<string?>("--publish-url") { Description = "wattstream-nats: the hub to push readings to, while clients subscribe at --url (its nats-server)." };
var clientUrls = new Option<string?>("--client-urls") { Description = "Comma-separated servers the clients connect to in turn (several hub nodes of one cluster); default --url." };
var clients = new Option<int>("--clients") { DefaultValueFactory = _ => 100 };
var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 10 };
var rate = new Option<int>("--rate") { Description = "Readings per second to publish, evenly spaced; 0 = as fast as the server accepts.", DefaultValueFactory = _ => 0 };
var pushers = new Option<int>("--pushers") { Description = "With --rate 0: this many publishers at once, each sending its next batch when its last is answered (devices pushing side by side).", DefaultValueFactory = _ => 1 };
var batch = new Option<int>("--batch") { Description = "Readings per publish request.", DefaultValueFactory = _ => 50 };
var sites = new Option<int>("--sites") { Description = "Sites the meters are spread over; client i subscribes to site i mod sites.", DefaultValueFactory = _ => 1 };
var meters = new Option<int>("--meters") { Description = "Meters the readings rotate over.", DefaultValueFactory = _ => 1 };
var warmup = new Option<double>("--warmup") { Description = "Seconds of publishing before measuring (JIT tiering, pools); those readings are neither counted nor timed.", DefaultValueFactory = _ => 2 };
var reconnect = new Option<bool>("--reconnect-burst") { Description = "A third of the way in, every client drops its connection and reconnects at once with Last-Event-ID (wattstream-sse)." };
var scenario = new Option<string>("--scenario") { Description = "A label for the report (a, a-half, b, c, d).", DefaultValueFactory = _ => "a" };
var sourceAddresses = new Option<int>("--source-addresses") { Description = "Loopback addresses the clients connect from, 127.0.0.1 up (about 28 000 connections each); 1 = the system's choice.", DefaultValueFactory = _ => 1 };
var fromDevices = new Option<bool>("--from-devices") { Description = "Publish nothing: the hub reads --meters devices (one reading each a whole second, e.g. emulate whatwatt --whole-seconds); readings of whole seconds in the measured window count, timed from their own time." };
var deviceSpread = new Option<int>("--device-spread-ms") { Description = "With --from-devices: the devices send spread over this many ms after each whole second, site k's device k × ms / sites after it (emulate whatwatt --spread: 900); latency is timed from that send time.", DefaultValueFactory = _ => 0 };
var sitePrefix = new Option<string>("--site-prefix") { Description = "What site names begin with (several load processes against one cluster: each its own sites).", DefaultValueFactory = _ => "bench" };
var barrier = new Option<DirectoryInfo?>("--barrier") { Description = "Once every client is connected, write ready.{pid} in this folder and wait for a file named go there before publishing (several load processes measuring the same window)." };
var idle = new Option<double>("--idle-seconds") { Description = "Once connected, wait this long with nothing published and measure the server's memory per connection again (Kestrel gives pooled memory back over time).", DefaultValueFactory = _ => 0 };
var pid = new Option<int?>("--server-pid") { Description = "Read the server's CPU and RSS from /proc." };
var output = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file." };
var root = new RootCommand("Wattstream fan-out load generator") { target, url, publishUrl, clientUrls, clients, seconds, rate, pushers, batch, sites, meters, warmup, reconnect, scenario, sourceAddresses, fromDevices, deviceSpread, sitePrefix, barrier, idle, pid, output };
root.SetAction(async (result, cancellationToken) =>
{
    var server = new Uri(result.GetValue(url)!);
    var publishTo = result.GetValue(publishUrl) is { } p ? new Uri(p) : server;
    var clientServers = result.GetValue(clientUrls) is { } list ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u)).ToArray() : [server];
    if (!server.IsLoopback || !publishTo.IsLoopback || clientServers.Any(u => !u.IsLoopback))
    {
        Console.Error.WriteLine("Load only ever targets loopback addresses.");
        return 2;
    }

    var plan = new LoadPlan(
        result.GetValue(scenario)!, result.GetValue(target)!, server, result.GetValue(clients), TimeSpan.FromSeconds(result.GetValue(seconds)),
        result.GetValue(rate), Math.Max(1, result.GetValue(batch)), new Workload(Math.Max(1, result.GetValue(sites)), Math.Max(1, result.GetValue(meters))) { SitePrefix = result.GetValue(sitePrefix)! },
        TimeSpan.FromSeconds(result.GetValue(warmup)), result.GetValue(reconnect), result.GetValue(pid)) { PublishServer = publishTo, ClientServers = clientServers, SourceAddresses = Math.Max(1, result.GetValue(sourceAddresses)), FromDevices = result.GetValue(fromDevices), IdleAfterConnect = TimeSpan.FromSeconds(Math.Max(0, result.GetValue(idle))), DeviceSpreadMs = Math.Max(0, result.GetValue(deviceSpread)), Barrier = result.GetValue(barrier), Pushers = Math.Max(1, result.GetValue(pushers)) };
    if (plan.ReconnectBurst && plan.Target != "wattstream-sse")
    {
        Console.Error.WriteLine("--reconnect-burst needs a transport that resumes: wattstream-sse.");
        return 2;
    }

    var run = await LoadRun.RunAsync(plan);
    var json = JsonSerializer.Serialize(run);
    Console.WriteLine(json);
    if (result.GetValue(output) is { } file)
    {
        await File.AppendAllTextAsync(file.FullName, json + "\n", cancellationToken);
    }

    return 0;
});

var results = new Argument<FileInfo>("results") { Description = "The JSON lines written by --json." };
var chart = new Option<FileInfo?>("--chart") { Description = "Also draw delivered messages/s and p99 by client count (scenario a) to this PNG." };
var report = new Command("report", "Turn result lines into markdown tables: medians with min–max per scenario, target and client count, and ratios against the peers.") { results, chart };
report.SetAction(result =>
{
    var lines = File.ReadAllLines(result.GetValue(results)!.FullName);
    Console.Write(Report.Markdown(lines));
    if (result.GetValue(chart) is { } png)
    {
        Chart.Draw(lines, png.FullName);
    }

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

internal sealed record LoadPlan(
    string Scenario, string Target, Uri Server, int Clients, TimeSpan Duration, int Rate, int Batch, Workload Workload, TimeSpan Warmup, bool ReconnectBurst, int? ServerPid)
{
    /// <summary>Where readings are published: the server, or the hub in front of a nats-server (wattstream-nats).</summary>
    public Uri? PublishServer { get; init; }

    /// <summary>With rate 0: publishers at once, each waiting for its own answer.</summary>
    public int Pushers { get; init; } = 1;

    /// <summary>Where clients connect, in turn: the server, or several nodes of a cluster.</summary>
    public Uri[] ClientServers { get; init; } = [];

    /// <summary>Loopback source addresses the clients are spread over (past the ephemeral ports of one).</summary>
    public int SourceAddresses { get; init; } = 1;

    /// <summary>Readings come from devices the hub reads; this tool publishes nothing (scenario f).</summary>
    public bool FromDevices { get; init; }

    /// <summary>The devices send spread over this many ms after each whole second (0: all on the second).</summary>
    public int DeviceSpreadMs { get; init; }

    /// <summary>Wait this long once connected and measure the server's memory per connection again (scenario c).</summary>
    public TimeSpan IdleAfterConnect { get; init; }

    /// <summary>Several load processes: say ready here once connected, publish once a file named go appears.</summary>
    public DirectoryInfo? Barrier { get; init; }
}

internal sealed record LoadResult(
    string Scenario,
    string Target,
    int Clients,
    int Sites,
    int Meters,
    int RequestedRate,
    int Batch,
    long Published,
    double Seconds,
    long Received,
    long Expected,
    long Lost,
    long Duplicates,
    double DeliveredPerSecond,
    long P50Micros,
    long P99Micros,
    long P999Micros,
    double ConnectionsPerSecond,
    double ReconnectSeconds,
    double ServerCpuSeconds,
    long ServerPeakRssBytes,
    long RssPerConnectionBytes)
{
    /// <summary>The load generator's own CPU over the measured window (publish, then the drain second).</summary>
    public double ClientCpuSeconds { get; init; }

    /// <summary>That CPU as a share of one core over the window: past <see cref="LoadRun.ClientBoundShare"/> the run is client-bound.</summary>
    public double ClientCoreShare { get; init; }

    /// <summary>
    /// The load generator was busier than <see cref="LoadRun.ClientBoundShare"/> of a core: its latency figures measure
    /// the client's queueing as much as the server's, and the report marks them.
    /// </summary>
    public bool ClientBound { get; init; }

    /// <summary>The load generator's own garbage-collection pauses over the window: its clients receive nothing meanwhile, so the latency figures include them.</summary>
    public double ClientGcPauseSeconds { get; init; }

    /// <summary>Scenario (f): the devices sent spread over this many ms after each whole second (0: all on the second).</summary>
    public int DeviceSpreadMs { get; init; }

    /// <summary>Server memory per connection after <see cref="IdleSeconds"/> of idling once connected ((RSS then − RSS before) ÷ N); 0 when not measured.</summary>
    public long RssPerConnectionAfterIdleBytes { get; init; }

    public double IdleSeconds { get; init; }

    /// <summary>How many times the load tool stood still for its own GC in the measured window (see <see cref="ToolPauses"/>).</summary>
    public int ClientGcPauses { get; init; }

    /// <summary>Timed messages whose way from publish to receipt overlapped one of those pauses: the percentiles below leave them out.</summary>
    public long SamplesInToolPauses { get; init; }

    /// <summary>The percentiles without the messages the tool's pauses fell into; null when too many samples were long to keep them all (saturated runs).</summary>
    public long? P50MicrosOutsidePauses { get; init; }

    public long? P99MicrosOutsidePauses { get; init; }

    public long? P999MicrosOutsidePauses { get; init; }

    /// <summary>This result with the figures that leave the load tool's own pauses out.</summary>
    public LoadResult WithoutToolPauses(LatencyHistogram latencies, ToolPauses pauses, long windowStartTicks, long windowEndTicks)
    {
        var intervals = pauses.Intervals;
        var outside = latencies.WithoutPauses(intervals);
        return this with
        {
            ClientGcPauses = intervals.Count(i => i.To >= windowStartTicks && i.From <= windowEndTicks),
            SamplesInToolPauses = outside?.Removed ?? 0,
            P50MicrosOutsidePauses = outside?.Histogram.Percentile(0.50),
            P99MicrosOutsidePauses = outside?.Histogram.Percentile(0.99),
            P999MicrosOutsidePauses = outside?.Histogram.Percentile(0.999),
        };
    }
}

internal static class LoadRun
{
    /// <summary>A load generator above this share of one core is the bottleneck, not the server.</summary>
    public const double ClientBoundShare = 0.8;

    public static async Task<LoadResult> RunAsync(LoadPlan plan)
    {
        if (plan.FromDevices)
        {
            return await RunFromDevicesAsync(plan);
        }

        var latencies = new LatencyHistogram();
        using var pauses = new ToolPauses();
        var stats = plan.ServerPid is { } p ? new ServerProcessStats(p) : null;
        var rssBefore = stats?.RssBytes() ?? 0;
        var workload = plan.Workload;

        await using var publisher = await Publisher.CreateAsync(plan.Target, plan.PublishServer ?? plan.Server);

        // One untimed reading per site before anyone connects, so the hub knows every site.
        var sequence = 0L;
        for (var s = 0; s < workload.Sites; s++)
        {
            await publisher.PublishAsync(workload.Reading(s, sequence++, timed: false, meter: s));
        }

        var (all, connectSeconds, rssConnected) = await ConnectAllAsync(plan, stats);

        using var stop = new CancellationTokenSource();
        var readers = all.Select(c => Task.Run(() => c.RunAsync(latencies, stop.Token))).ToArray();
        var rssIdle = 0L;
        if (plan.IdleAfterConnect > TimeSpan.Zero && stats is not null)
        {
            await Task.Delay(plan.IdleAfterConnect);
            rssIdle = stats.RssBytes();
        }

        if (plan.Barrier is { } barrier)
        {
            // Every process connects its clients first; the script says go once all have, so the windows coincide.
            await File.WriteAllTextAsync(Path.Combine(barrier.FullName, $"ready.{Environment.ProcessId}"), "");
            var waited = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(barrier.FullName, "go")))
            {
                if (waited.Elapsed > TimeSpan.FromMinutes(10))
                {
                    throw new TimeoutException($"no go in {barrier.FullName} within 10 minutes");
                }

                await Task.Delay(100);
            }
        }

        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                stats?.RssBytes();
                await Task.Delay(200).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        });

        // Warm up (JIT tiering, buffer pools) with readings that carry no publish time: clients neither count nor time them.
        if (plan.Warmup > TimeSpan.Zero)
        {
            await PublishForAsync(publisher, plan.Warmup, plan.Rate, plan.Pushers, plan.Batch, (sb, _) => sb.Append(workload.Reading(sequence++, timed: false)));
            await Task.Delay(500);
        }

        var cpuBefore = stats?.CpuSeconds() ?? 0;
        var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var ownPauseBefore = GC.GetTotalPauseDuration();
        var windowStartTicks = DateTime.UtcNow.Ticks;
        var window = Stopwatch.StartNew();
        var perSite = new long[workload.Sites];
        var burst = plan.ReconnectBurst ? ReconnectAllAsync(all, plan.Duration / 3) : Task.FromResult(0.0);
        var clock = Stopwatch.StartNew();
        var published = await PublishForAsync(publisher, plan.Duration, plan.Rate, plan.Pushers, plan.Batch, (sb, _) =>
        {
            var site = workload.SiteOf(sequence);
            perSite[site]++;
            sb.Append(workload.Reading(sequence++, timed: true));
        });
        var publishSeconds = clock.Elapsed.TotalSeconds;
        var reconnectSeconds = await burst;
        await Task.Delay(1000); // let the last messages arrive
        var cpu = (stats?.CpuSeconds() ?? 0) - cpuBefore;
        var ownCpu = (Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore).TotalSeconds;
        var ownShare = ownCpu / Math.Max(1e-9, window.Elapsed.TotalSeconds);
        var ownPause = GC.GetTotalPauseDuration() - ownPauseBefore; // before the clients close, which collects too
        var windowEndTicks = DateTime.UtcNow.Ticks;
        await stop.CancelAsync();
        await Task.WhenAll(readers.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
        await sampler;

        var clientsPerSite = new long[workload.Sites];
        for (var i = 0; i < plan.Clients; i++)
        {
            clientsPerSite[i % workload.Sites]++;
        }

        var expected = perSite.Select((n, s) => n * clientsPerSite[s]).Sum();
        var received = all.Sum(c => c.Received);
        return new LoadResult(
            plan.Scenario, plan.Target, plan.Clients, workload.Sites, workload.Meters, plan.Rate, plan.Batch, published, publishSeconds,
            received, expected, expected - received, all.Sum(c => c.Duplicates),
            received / publishSeconds,
            latencies.Percentile(0.50), latencies.Percentile(0.99), latencies.Percentile(0.999),
            plan.Clients / connectSeconds,
            reconnectSeconds,
            cpu,
            stats?.PeakRssBytes ?? 0,
            plan.Clients == 0 ? 0 : (rssConnected - rssBefore) / plan.Clients)
        {
            ClientCpuSeconds = ownCpu,
            ClientCoreShare = ownShare,
            ClientBound = ownShare > ClientBoundShare,
            ClientGcPauseSeconds = ownPause.TotalSeconds,
            IdleSeconds = plan.IdleAfterConnect.TotalSeconds,
            RssPerConnectionAfterIdleBytes = rssIdle == 0 || plan.Clients == 0 ? 0 : (rssIdle - rssBefore) / plan.Clients,
        }.WithoutToolPauses(latencies, pauses, windowStartTicks, windowEndTicks);
    }

    // Connects every client first (client i to site i mod sites, from its source address, to the servers in turn); the
    // set-up rate and the server's memory once all are connected are part of the result.
    private static async Task<(LoadClient[] All, double ConnectSeconds, long RssConnected)> ConnectAllAsync(LoadPlan plan, ServerProcessStats? stats)
    {
        var connect = Stopwatch.StartNew();
        var all = Enumerable.Range(0, plan.Clients)
            .Select(i => LoadClient.Create(plan.Target, plan.Workload.SiteName(i % plan.Workload.Sites), SourceAddresses.For(i, plan.SourceAddresses)))
            .ToArray();
        var servers = plan.ClientServers.Length > 0 ? plan.ClientServers : [plan.Server];
        await ForAllAsync(all.Select((c, i) => (Client: c, Server: servers[i % servers.Length])).ToArray(), 64, x => x.Client.ConnectAsync(x.Server, CancellationToken.None));
        var connectSeconds = connect.Elapsed.TotalSeconds;
        await Task.Delay(500); // subscriptions settle
        return (all, connectSeconds, stats?.RssBytes() ?? 0);
    }

    // Scenario (f): the hub reads devices (one reading each a whole second); clients listen; nothing is published here.
    // The window is whole seconds, so the readings it should hold are devices × seconds, each to its site's clients.
    private static async Task<LoadResult> RunFromDevicesAsync(LoadPlan plan)
    {
        var latencies = new LatencyHistogram();
        using var pauses = new ToolPauses();
        var stats = plan.ServerPid is { } p ? new ServerProcessStats(p) : null;
        var rssBefore = stats?.RssBytes() ?? 0;
        var workload = plan.Workload;
        var (all, connectSeconds, rssConnected) = await ConnectAllAsync(plan, stats);

        LoadClient.FromDevices = true;
        for (var i = 0; i < all.Length; i++)
        {
            // Client i listens to site i mod sites, whose device is device (i mod sites) of the fleet.
            all[i].DeviceOffsetMs = (long)(i % workload.Sites) * plan.DeviceSpreadMs / workload.Sites;
        }

        using var stop = new CancellationTokenSource();
        var readers = all.Select(c => Task.Run(() => c.RunAsync(latencies, stop.Token))).ToArray();
        await Task.Delay(plan.Warmup);

        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var start = ((nowMs / 1000) + 1) * 1000;
        var seconds = Math.Max(1, (long)plan.Duration.TotalSeconds);
        LoadClient.DeviceWindowStart = start;
        LoadClient.DeviceWindowEnd = start + (seconds * 1000);
        await Task.Delay(TimeSpan.FromMilliseconds(start - nowMs));
        var cpuBefore = stats?.CpuSeconds() ?? 0;
        var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var ownPauseBefore = GC.GetTotalPauseDuration();
        var windowStartTicks = DateTime.UtcNow.Ticks;
        var window = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var cpu = (stats?.CpuSeconds() ?? 0) - cpuBefore;
        await Task.Delay(1500); // the window's last readings arrive
        var ownCpu = (Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore).TotalSeconds;
        var ownShare = ownCpu / Math.Max(1e-9, window.Elapsed.TotalSeconds);
        var ownPause = GC.GetTotalPauseDuration() - ownPauseBefore; // before the clients close, which collects too
        var windowEndTicks = DateTime.UtcNow.Ticks;
        await stop.CancelAsync();
        await Task.WhenAll(readers.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));

        var ingested = workload.Meters * seconds;
        var expected = ingested * plan.Clients / workload.Sites;
        var received = all.Sum(c => c.Received);
        return new LoadResult(
            plan.Scenario, plan.Target, plan.Clients, workload.Sites, workload.Meters, workload.Meters, 1, ingested, seconds,
            received, expected, expected - received, 0,
            received / (double)seconds,
            latencies.Percentile(0.50), latencies.Percentile(0.99), latencies.Percentile(0.999),
            plan.Clients / connectSeconds,
            0,
            cpu,
            stats?.PeakRssBytes ?? 0,
            plan.Clients == 0 ? 0 : (rssConnected - rssBefore) / plan.Clients)
        {
            ClientCpuSeconds = ownCpu,
            ClientCoreShare = ownShare,
            ClientBound = ownShare > ClientBoundShare,
            ClientGcPauseSeconds = ownPause.TotalSeconds,
            DeviceSpreadMs = plan.DeviceSpreadMs,
        }.WithoutToolPauses(latencies, pauses, windowStartTicks, windowEndTicks);
    }

    /// <summary>Drops every client's connection at once and reconnects them with Last-Event-ID; the seconds until all are back.</summary>
    private static async Task<double> ReconnectAllAsync(LoadClient[] all, TimeSpan after)
    {
        await Task.Delay(after);
        var clock = Stopwatch.StartNew();
        // Bounded: a client that cannot get back fails the run rather than hanging it.
        await ForAllAsync(all, 1024, c => c.DropAndReconnectAsync()).WaitAsync(TimeSpan.FromMinutes(2));
        return clock.Elapsed.TotalSeconds;
    }

    private static async Task ForAllAsync<T>(T[] all, int concurrency, Func<T, Task> action)
    {
        using var throttle = new SemaphoreSlim(concurrency);
        await Task.WhenAll(all.Select(async c =>
        {
            await throttle.WaitAsync();
            try
            {
                await action(c);
            }
            finally
            {
                throttle.Release();
            }
        }));
    }

    // Publishes for the given time: as fast as the server takes batches (rate 0: each publisher waits for its last), or
    // batches started on a fixed schedule without waiting for earlier ones, so readings arrive evenly spaced whatever the
    // server's pace (a paced publisher that waited would turn server delay into fewer, later readings and hide latency).
    private static async Task<long> PublishForAsync(Publisher publisher, TimeSpan duration, int rate, int pushers, int batchSize, Action<System.Text.StringBuilder, int> append)
    {
        var published = 0L;
        var clock = Stopwatch.StartNew();
        var lines = new System.Text.StringBuilder(16 * 1024);
        if (rate <= 0)
        {
            // Batches are built one at a time (the workload's sequence is shared), sent side by side.
            var gate = new Lock();
            await Task.WhenAll(Enumerable.Range(0, pushers).Select(_ => Task.Run(async () =>
            {
                while (clock.Elapsed < duration)
                {
                    string body;
                    lock (gate)
                    {
                        lines.Clear();
                        for (var i = 0; i < batchSize; i++)
                        {
                            append(lines, i);
                        }

                        published += batchSize;
                        body = lines.ToString();
                    }

                    await publisher.PublishAsync(body);
                }
            })));
            return published;
        }

        var inFlight = new List<Task>();
        while (clock.Elapsed < duration)
        {
            lines.Clear();
            for (var i = 0; i < batchSize; i++)
            {
                append(lines, i);
            }

            published += batchSize;
            inFlight.Add(publisher.PublishAsync(lines.ToString()));
            inFlight.RemoveAll(t => t.IsCompletedSuccessfully);
            if (inFlight.Count > 256)
            {
                await Task.WhenAny(inFlight); // the server is far behind: stop adding load rather than queue without end
            }

            var due = TimeSpan.FromSeconds(published / (double)rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }
        }

        await Task.WhenAll(inFlight);
        return published;
    }
}
