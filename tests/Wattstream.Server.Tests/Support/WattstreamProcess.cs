using System.Diagnostics;

namespace Wattstream.Server.Tests;

/// <summary>
/// The executable as an operator runs it, in a process of its own: its exit code and what it printed. With a terminal
/// it runs under script(1), which gives it a pseudo-terminal and records the screen.
/// </summary>
internal static class WattstreamProcess
{
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string[] args, bool terminal = false, IReadOnlyDictionary<string, string>? environment = null, int? fileSizeLimitKb = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "wattstream.dll");
        ProcessStartInfo start;
        if (fileSizeLimitKb is { } limit)
        {
            start = Limited(args, limit);
        }
        else if (terminal)
        {
            var command = string.Join(' ', new[] { "dotnet", dll }.Concat(args).Select(a => $"'{a.Replace("'", "'\\''", StringComparison.Ordinal)}'"));
            start = new ProcessStartInfo("script") { ArgumentList = { "-q", "-e", "-c", command, "/dev/null" } };
            start.Environment["COLUMNS"] = "120";
            start.Environment["TERM"] = "xterm-256color";
        }
        else
        {
            start = new ProcessStartInfo("dotnet") { ArgumentList = { dll } };
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true); // it started a server instead of refusing, or a stream never ended
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The executable under a file-size limit (bash's <c>ulimit -f</c>, in KiB), as a service with <c>LimitFSIZE</c> runs.</summary>
    public static ProcessStartInfo Limited(string[] args, int fileSizeLimitKb)
    {
        var start = new ProcessStartInfo("bash") { ArgumentList = { "-c", $"ulimit -f {fileSizeLimitKb} && exec \"$0\" \"$@\"", "dotnet", Path.Combine(AppContext.BaseDirectory, "wattstream.dll") } };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // The runtime maps its code memory twice through a memory file it sizes with ftruncate (W^X); under a file-size
        // limit that fails and the runtime does not start ("Out Of Memory"). docs/operations.md says the same.
        start.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        return start;
    }
}
