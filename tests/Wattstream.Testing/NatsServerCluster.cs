using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Wattstream.Testing;

/// <summary>
/// Three real nats-servers (<see cref="NatsServer"/>: Debian's, each its own process, JetStream store and loopback client
/// port) clustered over routes on loopback as <see cref="Name"/>. <see cref="StartAsync"/> returns once every server
/// reports itself healthy to its monitoring endpoint and the cluster has a JetStream meta leader, so a stream with three
/// replicas can be made at once. A server is killed (SIGKILL, as a crash) and started again by its own pid.
/// </summary>
public sealed class NatsServerCluster : IAsyncDisposable
{
    public const string Name = "wattstream";
    private readonly HttpClient _monitor = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly List<NatsServer> _servers = [];
    private readonly List<int> _monitorPorts = [];

    private NatsServerCluster()
    {
    }

    /// <summary>The servers, in the order of <see cref="ServerNames"/>.</summary>
    public IReadOnlyList<NatsServer> Servers => _servers;

    /// <summary>The servers' names (<c>server_name</c>), as JetStream names its leaders and replicas.</summary>
    public IReadOnlyList<string> ServerNames { get; private set; } = [];

    /// <summary>Every server's client URL, comma-separated, as the hub's <c>Nats:Url</c> takes a cluster.</summary>
    public string Urls => string.Join(',', _servers.Select(s => s.Url));

    public static async Task<NatsServerCluster> StartAsync(int size = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 2);
        // Route and monitoring ports must be known before any server starts (each server's routes name the others'), so
        // free ones are taken; should another process bind one first, the whole cluster starts again on fresh ones.
        for (var attempt = 1; ; attempt++)
        {
            var cluster = new NatsServerCluster();
            try
            {
                await cluster.StartServersAsync(size);
                await cluster.WaitUntilHealthyAsync();
                return cluster;
            }
            catch (InvalidOperationException e) when (attempt < 5 && LoopbackPort.IsAddressInUse(e.Message))
            {
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    private async Task StartServersAsync(int size)
    {
        var routes = Enumerable.Range(0, size).Select(_ => LoopbackPort.Free()).ToArray();
        _monitorPorts.AddRange(Enumerable.Range(0, size).Select(_ => LoopbackPort.Free()));
        ServerNames = Enumerable.Range(0, size).Select(i => $"nats-{(char)('a' + i)}").ToArray();
        for (var i = 0; i < size; i++)
        {
            var others = string.Join(", ", routes.Where((_, j) => j != i).Select(p => $"nats-route://127.0.0.1:{p}"));
            var configuration = $$"""
                server_name: {{ServerNames[i]}}
                http: 127.0.0.1:{{_monitorPorts[i]}}
                cluster {
                  name: {{Name}}
                  listen: 127.0.0.1:{{routes[i]}}
                  routes: [ {{others}} ]
                }
                """;
            _servers.Add(await NatsServer.StartAsync(configuration: configuration));
        }
    }

    /// <summary>Kills server <paramref name="index"/> with SIGKILL: no goodbye to its routes, nothing flushed.</summary>
    public void Kill(int index) => _servers[index].Stop();

    /// <summary>Starts a killed server again on its port and store, and waits until the cluster is healthy with it.</summary>
    public async Task RestartAsync(int index)
    {
        await _servers[index].StartAgainAsync();
        await WaitUntilHealthyAsync();
    }

    /// <summary>The JetStream meta leader's name as server <paramref name="index"/> sees it (empty while there is none).</summary>
    public async Task<string> MetaLeaderAsync(int index)
    {
        var jsz = JsonNode.Parse(await _monitor.GetStringAsync(MonitorUrl(index, "jsz")));
        return (string?)jsz?["meta_cluster"]?["leader"] ?? "";
    }

    /// <summary>
    /// Waits until every running server answers <c>/healthz</c> with 200 (JetStream current, in contact with a meta leader)
    /// and names the same meta leader.
    /// </summary>
    public Task WaitUntilHealthyAsync() => Eventually.UntilAsync(
        async () =>
        {
            var leaders = new HashSet<string>();
            for (var i = 0; i < _servers.Count; i++)
            {
                if (!_servers[i].IsRunning)
                {
                    continue;
                }

                try
                {
                    using var health = await _monitor.GetAsync(MonitorUrl(i, "healthz"));
                    if (health.StatusCode != HttpStatusCode.OK)
                    {
                        return false;
                    }

                    leaders.Add(await MetaLeaderAsync(i));
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            }

            return leaders.Count == 1 && !leaders.Contains("");
        },
        $"the NATS cluster {Name} is healthy with one JetStream meta leader",
        TimeSpan.FromSeconds(45));

    private string MonitorUrl(int index, string path) => $"http://127.0.0.1:{_monitorPorts[index].ToString(CultureInfo.InvariantCulture)}/{path}";

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _monitor.Dispose();
    }
}
