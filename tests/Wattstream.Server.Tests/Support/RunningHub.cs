using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Wattstream.Server.Tests;

/// <summary>
/// The hub as a process that keeps running (its output collected), optionally under a file-size limit. It binds
/// <c>127.0.0.1:0</c> itself and the test reads the port from its "listening on" line: no port is picked for it
/// beforehand that another process could take in between.
/// </summary>
internal sealed partial class RunningHub : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpClient? _client;
    private int _disposed;

    private RunningHub(Process process) => Process = process;

    public Process Process { get; }

    public HttpClient Client => _client ?? throw new InvalidOperationException("The hub is not listening yet.");

    public Uri BaseAddress => Client.BaseAddress!;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The address in the hub's start-up line (plain or JSON log), as bound.</summary>
    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)", RegexOptions.CultureInvariant)]
    public static partial Regex ListeningLine();

    public static async Task<RunningHub> StartAsync(string data, int? fileSizeLimitKb, params string[] settings)
    {
        // The start-up line is information of the "Wattstream" category: kept whatever the settings do to the rest.
        string[] args = ["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={data}", .. settings, "--Logging:LogLevel:Wattstream=Information"];
        var start = fileSizeLimitKb is { } limit ? WattstreamProcess.Limited(args, limit) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "wattstream.dll") } };
        if (fileSizeLimitKb is null)
        {
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var hub = new RunningHub(Process.Start(start)!);
        hub.Process.OutputDataReceived += (_, e) => hub.Append(e.Data);
        hub.Process.ErrorDataReceived += (_, e) => hub.Append(e.Data);
        hub.Process.BeginOutputReadLine();
        hub.Process.BeginErrorReadLine();
        try
        {
            var exited = hub.Process.WaitForExitAsync();
            var first = await Task.WhenAny(hub._listening.Task, exited).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(first == hub._listening.Task, $"the hub exited before it listened: {hub.Output}");
            hub._client = new HttpClient { BaseAddress = await hub._listening.Task, Timeout = TimeSpan.FromSeconds(30) };
            await Eventually.UntilAsync(async () =>
            {
                Assert.False(hub.Process.HasExited, hub.Output);
                try
                {
                    return (await hub.Client.GetAsync("/healthz")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the hub up", TimeSpan.FromSeconds(60));
            return hub;
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
        }
    }

    private void Append(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line is not null && ListeningLine().Match(line) is { Success: true } listening)
        {
            _listening.TrySetResult(new Uri(listening.Groups[1].Value));
        }
    }

    /// <summary>SIGTERM, as systemd and Ctrl+C stop it; the exit code once it has stopped.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!)
        {
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(45));
        return Process.ExitCode;
    }

    /// <summary>SIGKILL: the process ends at once, and nothing of its own shutdown runs.</summary>
    public async Task KillAsync()
    {
        Process.Kill();
        await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Kills the hub if it still runs; a second call does nothing (a test and its fixture may both dispose it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _client?.Dispose();
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        await Process.WaitForExitAsync();
        Process.Dispose();
    }
}
