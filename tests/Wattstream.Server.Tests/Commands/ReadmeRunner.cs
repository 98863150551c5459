using System.Globalization;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Testing;

namespace Wattstream.Server.Tests;

/// <summary>
/// Runs the README's command lines block by block, each block in a shell of its own and on ports of its own. What ends
/// (curl, <c>export</c>, <c>token create</c>) must exit 0; a server (the hub, an emulator, nats-server) must answer before
/// the next line runs; a watcher (<c>curl -N</c>, <c>tail</c>) runs on beside the lines after it, as in a second terminal,
/// and must have shown an event or a row by the end of its block. The first block that starts a hub (the Run section)
/// keeps it: the blocks after it that start none talk to it, as the README's readers do.
/// </summary>
internal sealed partial class ReadmeRunner(string repositoryRoot, Action<string> log) : IAsyncDisposable
{
    private const string DevicePassword = "readme-device";
    private static readonly TimeSpan Ending = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan FirstEvent = TimeSpan.FromSeconds(45);

    private readonly List<string> _failures = [];
    private readonly List<(ReadmeShell Shell, string Folder)> _kept = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _executable = Path.Combine(AppContext.BaseDirectory, "wattstream.dll");
    private int? _readmeHubPort;
    private WhatwattEmulator? _device;

    /// <summary>Command lines run (each one, even where it failed).</summary>
    public int Run { get; private set; }

    /// <summary>Command lines of skipped blocks, each printed with the reason.</summary>
    public int Skipped { get; private set; }

    /// <summary>The lines of blocks not skipped that the test cannot run: each is a failure, never a silent skip.</summary>
    public static IEnumerable<string> Unknown(IEnumerable<ReadmeBlock> blocks) =>
        blocks.Where(b => b.Skip is null).SelectMany(b => b.Commands).Where(c => c.Kind == ReadmeKind.Unknown).Select(c =>
            $"README.md:{c.Line}: the test does not know how to run `{c.Text}`: teach ReadmeCommand.Kind what it is and what it promises, or mark its block with <!-- readme-test: skip: REASON -->");

    /// <summary>Runs every block; the failures, each naming its README line.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(IReadOnlyList<ReadmeBlock> blocks)
    {
        _failures.AddRange(Unknown(blocks));
        if (_failures.Count > 0)
        {
            return _failures;
        }

        foreach (var block in blocks)
        {
            if (block.Skip is { } reason)
            {
                foreach (var command in block.Commands)
                {
                    log($"README.md:{command.Line} skipped, {reason}: {command.Text}");
                    Skipped++;
                }

                continue;
            }

            await RunBlockAsync(block);
        }

        return _failures;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (shell, folder) in _kept)
        {
            await shell.DisposeAsync();
            DeleteFolder(folder);
        }

        if (_device is not null)
        {
            await _device.DisposeAsync();
        }

        _http.Dispose();
    }

    private async Task RunBlockAsync(ReadmeBlock block)
    {
        var startsHub = block.Commands.Any(c => c.Kind == ReadmeKind.Hub);
        var keep = startsHub && _readmeHubPort is null;
        var ports = new Dictionary<int, int>();
        int Port(int readmePort)
        {
            if (readmePort == ReadmeRewrite.HubPort && !startsHub)
            {
                return _readmeHubPort ?? throw new InvalidOperationException("it talks to the hub, and no block before it starts one");
            }

            if (!ports.TryGetValue(readmePort, out var port))
            {
                ports[readmePort] = port = LoopbackPort.Free();
            }

            return port;
        }

        log($"README.md:{block.Line}: a block of {block.Commands.Count} command line(s)");
        var folder = Directory.CreateTempSubdirectory("wattstream-readme-").FullName;
        var shell = ReadmeShell.Start(folder);
        var passed = false;
        try
        {
            var watchers = new List<(ReadmeCommand Command, ReadmeBackground Process, DateTime Started)>();
            foreach (var command in block.Commands)
            {
                Run++;
                string run;
                try
                {
                    run = await FillPlaceholdersAsync(command.Rewrite(new ReadmeRewrite(repositoryRoot, _executable, folder, Port)));
                }
                catch (InvalidOperationException e)
                {
                    Fail(command, e.Message);
                    return;
                }

                log($"README.md:{command.Line} {command.Kind}: {command.Text}\n    run as: {run}");
                if (command.Kind is ReadmeKind.Stream or ReadmeKind.Tail)
                {
                    watchers.Add((command, await shell.StartAsync(run), DateTime.UtcNow));
                    log("    runs on; checked at the end of the block");
                }
                else if (!await RunAsync(shell, command, run, Port))
                {
                    return;
                }
            }

            foreach (var (command, process, started) in watchers)
            {
                if (!await ShowsAsync(command, process, started))
                {
                    return;
                }
            }

            if (keep)
            {
                _readmeHubPort = Port(ReadmeRewrite.HubPort);
                log($"    the hub on port {_readmeHubPort} keeps running for the blocks that start none");
            }

            passed = true;
        }
        finally
        {
            if (keep && passed)
            {
                _kept.Add((shell, folder));
            }
            else
            {
                await shell.DisposeAsync();
                DeleteFolder(folder);
            }
        }
    }

    private async Task<bool> RunAsync(ReadmeShell shell, ReadmeCommand command, string run, Func<int, int> port)
    {
        switch (command.Kind)
        {
            case ReadmeKind.Shell or ReadmeKind.Request or ReadmeKind.Verb:
                var result = await shell.RunAsync(run, Ending);
                if (result is not { } ended)
                {
                    return Fail(command, $"did not end within {Ending.TotalSeconds} s");
                }

                if (ended.ExitCode != 0)
                {
                    return Fail(command, $"exit code {ended.ExitCode}\n{Shorten(ended.Output)}\n{Shorten(ended.Errors)}\n{shell.ShellOutput}");
                }

                log($"    exit 0{(ended.Output.Length > 0 ? ": " + Shorten(ended.Output.Trim(), 200) : "")}");
                return true;
            case ReadmeKind.Hub:
                var readyz = new Uri(ReadmeCommand.UrlIn(run, "--urls")!, "/readyz");
                var answer = "no answer";
                return await ReadyAsync(command, await shell.StartAsync(run), $"answers {readyz}", async () =>
                {
                    try
                    {
                        using var response = await _http.GetAsync(readyz);
                        answer = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                        return response.IsSuccessStatusCode;
                    }
                    catch (HttpRequestException e)
                    {
                        answer = e.Message;
                        return false;
                    }
                }, () => $"its last answer: {answer}");
            case ReadmeKind.Emulator:
                var emulatorPort = Regex.Match(run, @"--port\s+(\d+)") is { Success: true } m
                    ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
                    : throw new InvalidOperationException("an emulator without --port");
                return await ReadyAsync(command, await shell.StartAsync(run), $"listens on port {emulatorPort}", () => ListensAsync(emulatorPort));
            case ReadmeKind.NatsServer:
                var natsPort = port(ReadmeRewrite.NatsPort);
                return await ReadyAsync(command, await shell.StartAsync(run), $"listens on port {natsPort}", () => ListensAsync(natsPort));
            default:
                return Fail(command, $"no way to run a {command.Kind}");
        }
    }

    /// <summary>Waits until a server the line started answers; it fails at once when the server exits first.</summary>
    private async Task<bool> ReadyAsync(ReadmeCommand command, ReadmeBackground server, string what, Func<Task<bool>> ready, Func<string>? last = null)
    {
        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < Ready)
        {
            if (server.ExitCode is { } exit)
            {
                return Fail(command, $"exited with code {exit} before it {what}\n{Shorten(server.Output)}\n{Shorten(server.Errors)}");
            }

            if (await ready())
            {
                log($"    {what} after {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
                return true;
            }

            await Task.Delay(100);
        }

        return Fail(command, $"did not get to where it {what} within {Ready.TotalSeconds} s; {last?.Invoke()}\n{Shorten(server.Output)}\n{Shorten(server.Errors)}");
    }

    /// <summary>A watcher has shown what it promises: an SSE event for <c>curl -N</c>, a row of the table for <c>tail</c>.</summary>
    private async Task<bool> ShowsAsync(ReadmeCommand command, ReadmeBackground watcher, DateTime started)
    {
        var promise = command.Kind == ReadmeKind.Stream ? SseData() : TailRow();
        var what = command.Kind == ReadmeKind.Stream ? "an event" : "a row";
        while (true)
        {
            if (promise.Match(watcher.Output) is { Success: true } shown)
            {
                log($"README.md:{command.Line}: {what}: {Shorten(shown.Value.Trim(), 200)}");
                return true;
            }

            if (watcher.ExitCode is { } exit)
            {
                return Fail(command, $"exited with code {exit} before {what}\n{Shorten(watcher.Output)}\n{Shorten(watcher.Errors)}");
            }

            if (DateTime.UtcNow - started > FirstEvent)
            {
                return Fail(command, $"no {what} within {FirstEvent.TotalSeconds} s\n{Shorten(watcher.Output)}\n{Shorten(watcher.Errors)}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The README's placeholders, filled as a reader would: <c>DEVICE</c> (and its <c>--password …</c>) with an emulated
    /// whatwatt Go, <c>&lt;an id you received&gt;</c> with the id of an event the same URL sends. Any other placeholder is
    /// a failure: the test does not guess.
    /// </summary>
    private async Task<string> FillPlaceholdersAsync(string run)
    {
        if (DevicePlaceholder().IsMatch(run))
        {
            if (_device is null)
            {
                _device = WhatwattEmulator.Create(new WhatwattEmulatorOptions { Port = 0, Password = DevicePassword, Interval = TimeSpan.FromMilliseconds(500), Seed = 27 }, _ => { });
                await _device.StartAsync();
                log($"    DEVICE: an emulated whatwatt Go at {_device.BaseAddress}, password {DevicePassword}");
            }

            run = DevicePlaceholder().Replace(run, _device.BaseAddress.Authority);
            run = run.Replace("--password …", "--password " + DevicePassword, StringComparison.Ordinal);
        }

        if (run.Contains("<an id you received>", StringComparison.Ordinal))
        {
            var url = Regex.Match(run, @"https?://[^\s'""]+") is { Success: true } u ? new Uri(u.Value) : throw new InvalidOperationException("an event id for a line without a URL");
            var id = await FirstEventIdAsync(url);
            log($"    <an id you received>: {id}, the first event id {url} sent");
            run = run.Replace("<an id you received>", id, StringComparison.Ordinal);
        }

        if (UnknownPlaceholder().Match(run) is { Success: true } placeholder)
        {
            throw new InvalidOperationException($"the placeholder '{placeholder.Value}' is one the test does not know how to fill");
        }

        return run;
    }

    private async Task<string> FirstEventIdAsync(Uri url)
    {
        using var timeout = new CancellationTokenSource(FirstEvent);
        using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(timeout.Token))
        {
            if (!string.IsNullOrEmpty(item.EventId))
            {
                return item.EventId;
            }
        }

        throw new InvalidOperationException($"{url} ended without an event id");
    }

    private static async Task<bool> ListensAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private bool Fail(ReadmeCommand command, string why)
    {
        var failure = $"README.md:{command.Line}: `{command.Text}`: {why.TrimEnd()}";
        log("FAILED " + failure);
        _failures.Add(failure);
        return false;
    }

    private static string Shorten(string text, int length = 2000) => text.Length <= length ? text : text[..length] + "…";

    private static void DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex(@"^data:.*$", RegexOptions.Multiline)]
    private static partial Regex SseData();

    // A row of tail's table: a first cell that is not the header's "DER" and not a wrapped line's blank cell.
    [GeneratedRegex(@"^│ (?!DER )\S.*$", RegexOptions.Multiline)]
    private static partial Regex TailRow();

    [GeneratedRegex(@"\bDEVICE\b")]
    private static partial Regex DevicePlaceholder();

    [GeneratedRegex(@"…|\bDEVICE\b|<[a-z][^<>]*\s[^<>]*>")]
    private static partial Regex UnknownPlaceholder();
}
