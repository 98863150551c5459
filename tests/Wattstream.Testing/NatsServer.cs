using System.Diagnostics;
using System.Net.Sockets;

namespace Wattstream.Testing;

/// <summary>
/// A real nats-server of the test's own (Debian's, installed by scripts/test.sh) on a free loopback port, with
/// JetStream in a temporary folder unless asked otherwise; stopped by its own pid.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private readonly string[] _arguments;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;

    private NatsServer(int port, string folder, string[] arguments, IReadOnlyDictionary<string, string> environment)
    {
        Port = port;
        Folder = folder;
        _arguments = arguments;
        _environment = environment;
    }

    public int Port { get; }

    /// <summary>This server's folder (JetStream store, configuration files), removed at the end.</summary>
    public string Folder { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>Starts a server; <paramref name="configuration"/> is a nats-server configuration text written into its folder.</summary>
    public static async Task<NatsServer> StartAsync(bool jetStream = true, string? configuration = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var folder = Directory.CreateTempSubdirectory("wattstream-nats-").FullName;
        var port = LoopbackPort.Free();
        var arguments = new List<string> { "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
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

        var server = new NatsServer(port, folder, [.. arguments], environment ?? new Dictionary<string, string>());
        await server.StartProcessAsync();
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

        _process = Process.Start(start) ?? throw new InvalidOperationException("nats-server did not start");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nats-server exited with {_process.ExitCode} ({string.Join(' ', _arguments)}): {Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"nats-server did not listen on {Port} within 15 s");
    }
}
