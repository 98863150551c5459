using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Wattstream.Server.Tests;

/// <summary>
/// deploy/cluster/run.sh as someone trying the cluster runs it: three nats-servers, three hub nodes (this build's
/// wattstream.dll) and nginx in front, on loopback ports moved by WATTSTREAM_CLUSTER_PORT_OFFSET; stopped with SIGTERM as
/// Ctrl-C would, after which none of its processes is left.
/// </summary>
public sealed class ClusterScriptTests
{
    // Every port the script's configuration uses (nats-{a,b,c}.conf, the hubs, nginx), before the offset.
    private static readonly int[] Ports = [4222, 4223, 4224, 6222, 6223, 6224, 8222, 8223, 8224, 8111, 8112, 8113, 8080];
    private static readonly Regex Started = new(@"^(\S+) pid (\d+)$", RegexOptions.CultureInvariant);
    private static readonly Regex Ready = new(@"^Wattstream cluster: (http://127\.0\.0\.1:\d+) ", RegexOptions.CultureInvariant);

    [Fact]
    public async Task The_cluster_script_serves_through_nginx_and_leaves_no_process_when_stopped()
    {
        for (var attempt = 1; ; attempt++)
        {
            var folder = Directory.CreateTempSubdirectory("wattstream-cluster-").FullName;
            try
            {
                if (await RunAsync(folder, FreeOffset()))
                {
                    return;
                }

                // Another process took one of the ports between the check and the script's start: again, elsewhere.
                Assert.True(attempt < 3, "the cluster script found its ports taken three times");
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>Runs the script once; false when it could not bind its ports (then nothing else is asserted).</summary>
    private static async Task<bool> RunAsync(string folder, int offset)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepoFiles.Root, "deploy", "cluster", "run.sh"));
        start.ArgumentList.Add("--Simulation:Interval=00:00:00.250");
        start.ArgumentList.Add("--Simulation:Sites=1");
        start.Environment["WATTSTREAM_DLL"] = Path.Combine(AppContext.BaseDirectory, "wattstream.dll");
        start.Environment["WATTSTREAM_CLUSTER_DIR"] = folder;
        start.Environment["WATTSTREAM_CLUSTER_PORT_OFFSET"] = offset.ToString(CultureInfo.InvariantCulture);

        var lines = new ConcurrentQueue<string>();
        var pids = new ConcurrentDictionary<string, int>();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var script = Process.Start(start)!;
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            lines.Enqueue(line);
            if (Started.Match(line) is { Success: true } started)
            {
                pids[started.Groups[1].Value] = int.Parse(started.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
            }
            else if (Ready.Match(line) is { Success: true } ready)
            {
                url.TrySetResult(ready.Groups[1].Value);
            }
        }

        script.OutputDataReceived += (_, e) => Line(e.Data);
        script.ErrorDataReceived += (_, e) => Line(e.Data);
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        try
        {
            var exited = script.WaitForExitAsync();
            if (await Task.WhenAny(url.Task, exited).WaitAsync(TimeSpan.FromMinutes(4)) != url.Task)
            {
                var logs = string.Join('\n', Directory.EnumerateFiles(folder, "*.log").Select(File.ReadAllText));
                if (LoopbackPort.IsAddressInUse(logs))
                {
                    return false;
                }

                Assert.Fail($"run.sh exited with {script.ExitCode} before it was ready:\n{string.Join('\n', lines)}\n{logs}");
            }

            Assert.Equal(["hub-a", "hub-b", "hub-c", "nats-a", "nats-b", "nats-c", "nginx"], pids.Keys.Order(StringComparer.Ordinal));
            using var client = new HttpClient { BaseAddress = new Uri(await url.Task), Timeout = TimeSpan.FromSeconds(30) };
            using (var ready = await client.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                Assert.StartsWith("nginx", ready.Headers.Server.ToString(), StringComparison.Ordinal); // through nginx, not a node
            }

            // Every node is a cluster node on the three-server stream at three replicas.
            foreach (var (node, port) in new[] { ("hub-a", 8111), ("hub-b", 8112), ("hub-c", 8113) })
            {
                using var direct = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port + offset}"), Timeout = TimeSpan.FromSeconds(30) };
                var nats = JsonNode.Parse(await direct.GetStringAsync("/api/nats"))!;
                Assert.Equal(node, (string?)nats["cluster"]!["node"]);
            }

            // The simulator runs on hub-a; whichever node nginx picks streams its readings, under stream sequences.
            var items = await SseClient.ReadAsync(client, "/stream/sites/site-1", 3, TimeSpan.FromSeconds(60));
            Assert.Equal(3, items.Count);
            Assert.All(items, i => Assert.Contains("\"timestamp\"", i.Data, StringComparison.Ordinal));
            var ids = items.Select(i => SseClient.Sequence(i.EventId!)).ToArray();
            Assert.Equal(ids.Distinct().Order(), ids);

            // Ctrl-C's part (SIGTERM to the script): it stops everything it started, by pid, and exits.
            using (var term = Process.Start("kill", ["-TERM", script.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await exited.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Contains("stopped", lines);
            Assert.All(pids, p => Assert.False(Alive(p.Value), $"{p.Key} (pid {p.Value}) is still running after the script stopped"));
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/readyz"));
            Assert.Equal(HttpRequestError.ConnectionError, refused.HttpRequestError); // nginx's port is closed
            return true;
        }
        finally
        {
            // A failed assertion must not leave the cluster running: the script first (its trap stops the rest), then
            // whatever it started.
            if (!script.HasExited)
            {
                script.Kill();
            }

            foreach (var pid in pids.Values.Where(Alive))
            {
                using var orphan = Process.GetProcessById(pid);
                orphan.Kill();
            }
        }
    }

    /// <summary>Whether a process of that id exists and has not exited (a zombie has exited).</summary>
    private static bool Alive(int pid)
    {
        var status = $"/proc/{pid}/stat";
        try
        {
            // The state follows the command name in parentheses: "123 (nats-server) S …".
            var stat = File.ReadAllText(status);
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>An offset that puts every port of the script on a free loopback port (free at the moment it is asked).</summary>
    private static int FreeOffset()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var offset = Random.Shared.Next(20_000, 50_000);
            if (Ports.All(p => IsFree(p + offset)))
            {
                return offset;
            }
        }

        throw new InvalidOperationException("no free set of loopback ports for the cluster script");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
