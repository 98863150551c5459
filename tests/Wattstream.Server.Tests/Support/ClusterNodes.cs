using Microsoft.AspNetCore.Builder;

namespace Wattstream.Server.Tests;

/// <summary>
/// Hub nodes in cluster mode (<c>Nats:Cluster=true</c>) on one NATS — a <see cref="NatsServer"/>'s URL or a
/// <see cref="NatsServerCluster"/>'s URLs — each started with what every cluster node of the tests has (simulator off, the
/// NATS URL, its node id, a connect timeout), the settings common to the test class, and the test's own. A node runs in
/// this process (<see cref="WattstreamHost"/>) or as a process of its own (<see cref="RunningHub"/>: what a kill -9
/// needs). Disposing the set stops every node still running (a node stopped before is left alone) and removes the
/// processes' data folders; dispose it before NATS, so no node outlives its server.
/// </summary>
internal sealed class ClusterNodes : IAsyncDisposable
{
    private readonly string _natsUrl;
    private readonly string[] _common;
    private readonly Func<string[], Task<WattstreamHost>> _start;
    private readonly List<WattstreamHost> _hosts = [];
    private readonly List<RunningHub> _processes = [];
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"wattstream-cluster-{Guid.NewGuid():N}");

    /// <param name="natsUrl">The NATS URL, or a cluster's comma-separated URLs.</param>
    /// <param name="common">Settings every node of this set gets (e.g. <c>--Nats:LeaseTtl=00:00:02</c>).</param>
    public ClusterNodes(string natsUrl, params string[] common)
        : this(natsUrl, WattstreamHost.StartAsync, common)
    {
    }

    /// <param name="natsUrl">The NATS URL, or a cluster's comma-separated URLs.</param>
    /// <param name="start">How an in-process node starts from its settings (e.g. with token auth).</param>
    /// <param name="common">Settings every node of this set gets.</param>
    public ClusterNodes(string natsUrl, Func<string[], Task<WattstreamHost>> start, params string[] common)
    {
        _natsUrl = natsUrl;
        _start = start;
        _common = common;
    }

    /// <summary>What makes a hub a cluster node on that NATS: nothing else (no simulator; a connect timeout that allows for a loaded machine).</summary>
    public static string[] ClusterSettings(string natsUrl, string node) =>
        ["--Simulation:Enabled=false", $"--Nats:Url={natsUrl}", "--Nats:Cluster=true", $"--Nats:NodeId={node}", "--Nats:ConnectTimeout=00:00:10"];

    /// <summary>A node's settings: the cluster's, this set's common ones, then <paramref name="more"/> (a later setting wins).</summary>
    public string[] Settings(string node, params string[] more) => [.. ClusterSettings(_natsUrl, node), .. _common, .. more];

    /// <summary>Starts a node in this process.</summary>
    public Task<WattstreamHost> StartAsync(string node, params string[] more) => Track(_start(Settings(node, more)));

    /// <summary>Starts a node in this process, its application builder configured first (e.g. a capturing logger).</summary>
    public Task<WattstreamHost> StartAsync(Action<WebApplicationBuilder> configure, string node, params string[] more) =>
        Track(WattstreamHost.StartAsync(configure, Settings(node, more)));

    /// <summary>Starts these nodes in this process, all at once; in the order named.</summary>
    public Task<WattstreamHost[]> StartAllAsync(params string[] nodes) => Task.WhenAll(nodes.Select(n => StartAsync(n)));

    /// <summary>Starts a node as a process of its own, its data in a folder of this set; returns once it answers <c>/healthz</c>.</summary>
    public async Task<RunningHub> StartProcessAsync(string node, params string[] more)
    {
        Directory.CreateDirectory(_data);
        var process = await RunningHub.StartAsync(Path.Combine(_data, node), fileSizeLimitKb: null, Settings(node, more));
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

    private async Task<WattstreamHost> Track(Task<WattstreamHost> starting)
    {
        var host = await starting;
        lock (_hosts)
        {
            _hosts.Add(host);
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        // Disposing a node twice is harmless: a test may have stopped (or killed) it already.
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
