using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Wattstream.Testing;

/// <summary>
/// A real nats-server of the test's own (Debian's, installed by scripts/test.sh) on a loopback port it binds itself
/// (<c>-p -1</c>: the server picks a free one and says which), with JetStream in a temporary folder unless asked
/// otherwise; stopped by its own pid.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private static readonly Regex ClientListener = new(@"Listening for client connections on 127\.0\.0\.1:(\d+)", RegexOptions.CultureInvariant);
    private static readonly Regex WebSocketListener = new(@"Listening for websocket clients on wss?://127\.0\.0\.1:(\d+)", RegexOptions.CultureInvariant);
    private string[] _arguments;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;

    private NatsServer(string folder, string[] arguments, IReadOnlyDictionary<string, string> environment)
    {
        Folder = folder;
        _arguments = arguments;
        _environment = environment;
    }

    /// <summary>The client port the server bound at its first start (kept across restarts).</summary>
    public int Port { get; private set; }

    /// <summary>The WebSocket port the server bound, when its configuration has a <c>websocket</c> block (<c>listen: "127.0.0.1:-1"</c>: one it picks).</summary>
    public int? WebSocketPort { get; private set; }

    /// <summary>This server's folder (JetStream store, configuration files), removed at the end.</summary>
    public string Folder { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>Starts a server; <paramref name="configuration"/> is a nats-server configuration text written into its folder.</summary>
    public static async Task<NatsServer> StartAsync(bool jetStream = true, string? configuration = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var folder = Directory.CreateTempSubdirectory("wattstream-nats-").FullName;
        var arguments = new List<string> { "-a", "127.0.0.1", "-p", "-1" };
        if (configuration is not null)
        {
            var file = Path.Combine(folder, "nats-server.conf");
            await File.WriteAllTextAsync(file, configuration);
            arguments.InsertRange(0, ["-c", file]);
        }

        if (jetStream)
        {
            arguments.AddRange(["-js", "-sd", Path.Combine(folder, "jetstream")]);
        }

        var server = new NatsServer(folder, [.. arguments], environment ?? new Dictionary<string, string>());
        await server.StartProcessAsync();

        // Restarts come back on the same port: the hub under test is configured with it.
        var port = Array.IndexOf(server._arguments, "-1");
        server._arguments[port] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return server;
    }

    /// <summary>Stops the process (as a crash would: SIGKILL) and starts it again on the same port and store.</summary>
    public async Task RestartAsync()
    {
        Stop();
        await StartProcessAsync();
    }

    /// <summary>
    /// Stops the process as <c>systemctl restart</c> does (SIGTERM: nats-server writes out its JetStream store and exits)
    /// and starts it again on the same port and store. After a SIGKILL, nats-server 2.9 can lose the last messages it had
    /// acknowledged but not yet written, and then gives their sequence numbers to new messages.
    /// </summary>
    public async Task RestartGracefullyAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            if (!process.WaitForExit(15_000))
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }

        _process?.Dispose();
        _process = null;
        await StartProcessAsync();
    }

    /// <summary>Starts a server stopped by <see cref="Stop"/> again, on the same port and store (a crashed server brought back).</summary>
    public Task StartAgainAsync() => _process is null
        ? StartProcessAsync()
        : throw new InvalidOperationException("nats-server is still running: Stop it first.");

    /// <summary>Whether the process runs (not stopped, not exited).</summary>
    public bool IsRunning => _process is { HasExited: false };

    public void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit(10_000);
        }

        _process?.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    /// <summary>The server's last lines of output (errors, permission violations), for a failing test's message.</summary>
    public string Output => string.Join('\n', _output);

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo("nats-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        // The server says where it listens, then that it is ready: only this process's lines count (a connection to
        // the port could reach another process that holds it).
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start) ?? throw new InvalidOperationException("nats-server did not start");
        _process = process;
        void Line(string? line)
        {
            Keep(line);
            if (line is null)
            {
                return;
            }

            if (ClientListener.Match(line) is { Success: true } client)
            {
                Port = int.Parse(client.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (WebSocketListener.Match(line) is { Success: true } websocket)
            {
                WebSocketPort = int.Parse(websocket.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.EndsWith("Server is ready", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(ready.Task, exited).WaitAsync(TimeSpan.FromSeconds(15));
        if (first != ready.Task)
        {
            throw new InvalidOperationException($"nats-server exited with {process.ExitCode} ({string.Join(' ', _arguments)}): {Output}");
        }
    }
}
