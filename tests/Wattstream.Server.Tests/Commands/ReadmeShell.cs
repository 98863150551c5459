using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Wattstream.Server.Tests;

/// <summary>
/// One bash for the commands of a README block, in order, as a person types them into a terminal: <c>export</c> and
/// <c>token=$(…)</c> hold for the lines after them (<c>set -a</c> exports every variable, so commands started in the
/// background see them too). The shell runs in a session of its own, so a command that hangs is ended with it; what runs on
/// (a hub, an emulator, <c>curl -N</c>) runs in a session of its own too and is stopped by its own process-group id.
/// </summary>
internal sealed class ReadmeShell : IAsyncDisposable
{
    private readonly Process _bash;
    private readonly string _folder;
    private readonly StringBuilder _shellOutput = new();
    private readonly List<ReadmeBackground> _background = [];
    private int _next;

    private ReadmeShell(Process bash, string folder)
    {
        _bash = bash;
        _folder = folder;
    }

    /// <summary>Starts bash in <paramref name="folder"/>, which also holds each command's output.</summary>
    public static ReadmeShell Start(string folder)
    {
        // setsid: bash leads a process group of its own (it is not a group leader when started, so setsid execs in place).
        var start = new ProcessStartInfo("setsid") { ArgumentList = { "bash", "--noprofile", "--norc" }, WorkingDirectory = folder };
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var bash = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var shell = new ReadmeShell(bash, folder);
        bash.OutputDataReceived += (_, e) => shell.Keep(e.Data);
        bash.ErrorDataReceived += (_, e) => shell.Keep(e.Data);
        bash.BeginOutputReadLine();
        bash.BeginErrorReadLine();
        shell.Send($"set -a\nREADME_TEST_FOLDER={ReadmeCommand.Quote(folder)}\n");
        return shell;
    }

    /// <summary>The shell's own messages (a syntax error, a job notice), for a failure's message.</summary>
    public string ShellOutput
    {
        get
        {
            lock (_shellOutput)
            {
                return _shellOutput.ToString();
            }
        }
    }

    /// <summary>Runs a command that ends, in the shell itself; null when it has not ended within <paramref name="timeout"/>.</summary>
    public async Task<(int ExitCode, string Output, string Errors)?> RunAsync(string command, TimeSpan timeout)
    {
        var n = _next++;
        var rc = Path.Combine(_folder, $"{n}.rc");
        Send($"{{ {command}\n}} >\"$README_TEST_FOLDER/{n}.out\" 2>\"$README_TEST_FOLDER/{n}.err\" </dev/null; echo $? >\"$README_TEST_FOLDER/{n}.rc.tmp\"; mv \"$README_TEST_FOLDER/{n}.rc.tmp\" \"$README_TEST_FOLDER/{n}.rc\"\n");
        if (!await Wattstream.Testing.Eventually.TryUntilAsync(() => File.Exists(rc), timeout))
        {
            return null;
        }

        return (int.Parse((await File.ReadAllTextAsync(rc)).Trim(), CultureInfo.InvariantCulture),
            await File.ReadAllTextAsync(Path.Combine(_folder, $"{n}.out")),
            await File.ReadAllTextAsync(Path.Combine(_folder, $"{n}.err")));
    }

    /// <summary>Starts a command that runs on, in a session (and process group) of its own.</summary>
    public async Task<ReadmeBackground> StartAsync(string command)
    {
        var n = _next++;
        var pid = Path.Combine(_folder, $"{n}.pid");
        var body = $"{command}\necho $? >\"$README_TEST_FOLDER/{n}.exit\"";
        Send($"setsid bash -c {ReadmeCommand.Quote(body)} >\"$README_TEST_FOLDER/{n}.out\" 2>\"$README_TEST_FOLDER/{n}.err\" </dev/null & echo $! >\"$README_TEST_FOLDER/{n}.pid.tmp\"; mv \"$README_TEST_FOLDER/{n}.pid.tmp\" \"$README_TEST_FOLDER/{n}.pid\"\n");
        if (!await Wattstream.Testing.Eventually.TryUntilAsync(() => File.Exists(pid), TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"the shell did not start the command in 30 s: {ShellOutput}");
        }

        var background = new ReadmeBackground(int.Parse((await File.ReadAllTextAsync(pid)).Trim(), CultureInfo.InvariantCulture), _folder, n);
        _background.Add(background);
        return background;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _background.Count - 1; i >= 0; i--)
        {
            await _background[i].StopAsync();
        }

        try
        {
            _bash.StandardInput.Close(); // end of input: bash exits
        }
        catch (IOException)
        {
        }

        if (!_bash.WaitForExit(5_000))
        {
            ReadmeBackground.Signal(_bash.Id, ReadmeBackground.SIGKILL); // a command that hung, and the shell waiting for it
            _bash.WaitForExit(5_000);
        }

        _bash.Dispose();
    }

    private void Send(string text)
    {
        _bash.StandardInput.Write(text);
        _bash.StandardInput.Flush();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_shellOutput)
        {
            if (_shellOutput.Length < 20_000)
            {
                _shellOutput.AppendLine(line);
            }
        }
    }
}

/// <summary>A command that runs on: its output so far, whether it ended, and a stop by its process-group id.</summary>
internal sealed class ReadmeBackground(int processGroup, string folder, int n)
{
    public const int SIGKILL = 9;
    private const int SIGTERM = 15;

    public int ProcessGroup => processGroup;

    public string Output => Read($"{n}.out");

    public string Errors => Read($"{n}.err");

    /// <summary>Its exit code when it has ended on its own.</summary>
    public int? ExitCode => int.TryParse(Read($"{n}.exit").Trim(), CultureInfo.InvariantCulture, out var code) ? code : null;

    /// <summary>Ends the process group (SIGTERM: the hub and the emulators stop cleanly), then SIGKILL after 10 s.</summary>
    public async Task StopAsync()
    {
        if (!Signal(processGroup, SIGTERM))
        {
            return;
        }

        if (!await Wattstream.Testing.Eventually.TryUntilAsync(() => !Signal(processGroup, 0), TimeSpan.FromSeconds(10)))
        {
            Signal(processGroup, SIGKILL);
        }
    }

    /// <summary>kill(2) on the process group <paramref name="group"/>; false when none of its processes is left.</summary>
    public static bool Signal(int group, int signal) => Kill(-group, signal) == 0;

    private string Read(string name)
    {
        var path = Path.Combine(folder, name);
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    // DllImport, not LibraryImport: the arguments are blittable, and LibraryImport would need unsafe code in the project.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}
