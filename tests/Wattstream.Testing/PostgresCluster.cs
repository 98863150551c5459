using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace Wattstream.Testing;

/// <summary>
/// A PostgreSQL cluster of the tests' own: initdb in a temporary folder, started on a free loopback port, removed at the
/// end. Never a system-wide server or a fixed port. scripts/test.sh installs Debian's postgresql when missing.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wattstream-pg-{Guid.NewGuid():N}");
    private string _bin = "";
    private int _port;

    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={_port};Username=wattstream;Database={database};Pooling=true;Timeout=30";

    /// <summary>
    /// A fresh, empty database. The cluster runs with <c>synchronous_commit=off</c> for speed, so a commit can be lost when
    /// the cluster is killed; <paramref name="durableCommits"/> turns it on for this database, as a production server has it,
    /// for tests that stop the cluster and count what was committed.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(bool durableCommits = false)
    {
        var name = $"t_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        if (durableCommits)
        {
            await using var setting = new NpgsqlCommand($"ALTER DATABASE {name} SET synchronous_commit = on", connection);
            await setting.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    public async Task InitializeAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).OrderDescending().FirstOrDefault() ?? ""
            : "";
        if (_bin.Length == 0)
        {
            throw new InvalidOperationException("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/test.sh, which installs it.");
        }

        Directory.CreateDirectory(_directory);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", "postgres:postgres", _directory); // initdb refuses to run as root
        }

        await RunPgAsync("initdb", "-D", Path.Combine(_directory, "data"), "-A", "trust", "-U", "wattstream", "--no-sync", "-E", "UTF8");

        // PostgreSQL cannot pick its own port (it names its socket after it): a free one is taken, and should another
        // process bind it first, the server says so in its log and the next free port is tried.
        var log = Path.Combine(_directory, "log");
        for (var attempt = 1; ; attempt++)
        {
            _port = LoopbackPort.Free();
            var logged = File.Exists(log) ? new FileInfo(log).Length : 0;
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 5 && LoopbackPort.IsAddressInUse(ReadFrom(log, logged)))
            {
            }
        }
    }

    private static string ReadFrom(string file, long offset)
    {
        if (!File.Exists(file))
        {
            return "";
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Starts the cluster (again, after <see cref="StopAsync"/>) on its port.</summary>
    public async Task StartAsync()
    {
        await RunPgAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-l", Path.Combine(_directory, "log"), "-w", "-t", "60",
            "-o", $"-p {_port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start");
        // The fixture's own pooled connections died with a stopped cluster; the hub's pools are its business (not cleared).
        await using var admin = new NpgsqlConnection(ConnectionString());
        NpgsqlConnection.ClearPool(admin);
    }

    /// <summary>
    /// Stops the cluster as an outage does: <c>immediate</c> (every server process killed, no checkpoint, connections cut),
    /// waiting until it is down. <see cref="StartAsync"/> brings it back with its data.
    /// </summary>
    public Task StopAsync() => RunPgAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop");

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException) when (!File.Exists(Path.Combine(_directory, "data", "postmaster.pid")))
        {
            // already stopped by a test
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task RunPgAsync(string tool, params string[] args) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args])
            : RunAsync(Path.Combine(_bin, tool), args);

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await output} {await error}");
        }
    }
}
