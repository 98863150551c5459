using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Wattstream.Server.Access;
using Wattstream.Server.Storage;
using Xunit.Abstractions;

namespace Wattstream.Server.Tests;

/// <summary>
/// The data directory across processes, as an operator runs hubs: one hub per directory (a second is refused naming the
/// holder, a killed holder leaves no stale lock), event ids that stay valid across a clean restart, and a first start
/// that warns about nothing and keeps its keys there, owner-only.
/// </summary>
public sealed partial class DataDirectoryTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"wattstream-datadir-{Guid.NewGuid():N}")).FullName;

    private readonly List<RunningHub> _started = [];

    private string Data => Path.Combine(_root, "data");

    public void Dispose()
    {
        foreach (var hub in _started)
        {
            output.WriteLine(hub.Output);
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_second_hub_on_the_same_data_directory_is_refused_naming_the_directory_and_the_holders_pid()
    {
        await using var first = await StartAsync(Data);

        var second = await WattstreamProcess.RunAsync(["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={Data}"]);

        Assert.Equal(1, second.ExitCode);
        Assert.Contains(Data, second.Errors, StringComparison.Ordinal);
        Assert.Contains($"pid {first.Process.Id}", second.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", second.Errors, StringComparison.Ordinal); // no stack trace
        Assert.DoesNotContain("listening on", second.Output, StringComparison.Ordinal); // no server started
        Assert.Equal(HttpStatusCode.OK, (await first.Client.GetAsync("/readyz")).StatusCode); // the holder runs on
    }

    [Fact]
    public async Task After_the_holder_is_killed_a_new_hub_starts_on_the_same_data_directory()
    {
        var first = await StartAsync(Data);
        var killed = first.Process.Id;
        await first.KillAsync(); // SIGKILL: nothing of the hub's own runs, only the kernel releases the lock
        await first.DisposeAsync();

        await using var second = await StartAsync(Data);

        Assert.Equal(HttpStatusCode.OK, (await second.Client.GetAsync("/api/sites")).StatusCode);
        Assert.Equal(second.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), (await ReadLockFileAsync()).Trim());
        Assert.NotEqual(killed, second.Process.Id);
    }

    [Fact]
    public async Task A_client_resuming_across_a_clean_restart_gets_what_it_missed_and_no_gap()
    {
        const string stream = "/stream/sites/site-1";
        string resumeFrom;
        await using (var first = await StartAsync(Data))
        {
            var seen = await SseClient.ReadAsync(first.Client, stream, 10, TimeSpan.FromSeconds(30));
            resumeFrom = seen[4].EventId!; // the client missed the rest of this run
            Assert.Equal(0, await first.TerminateAsync());
        }

        var epoch = Parse(resumeFrom).Epoch;
        var lastOfFirstRun = (await StoredIdsAsync(epoch)).Max(); // a clean stop stores every event it gave an id

        List<SseItem<string>> resumed;
        var overWebSocket = new List<(long Epoch, long Sequence)>();
        JsonNode acknowledgement;
        await using (var second = await StartAsync(Data))
        {
            // Until the resumed stream is into the second run's events.
            resumed = await SseClient.ReadAsync(second.Client, stream, 500, TimeSpan.FromSeconds(30), resumeFrom, until: i => i.EventId is { } id && Parse(id).Sequence > lastOfFirstRun);
            // /ws resumes through the same core: the same id, the same events.
            await using (var ws = await WebSocketClient.ConnectAsync(second.BaseAddress, "/ws"))
            {
                await ws.ReceiveJsonAsync(); // hello
                await ws.SendAsync($$"""{"type":"subscribe","id":"r","subject":"orgs.demo.sites.site-1.>","lastEventId":"{{resumeFrom}}"}""");
                acknowledgement = await ws.ReceiveUntilAsync(m => (string?)m["type"] == "subscribed");
                while (overWebSocket.Count < resumed.Count)
                {
                    var reading = await ws.ReceiveUntilAsync(m => (string?)m["type"] == "reading");
                    overWebSocket.Add(Parse((string)reading["id"]!));
                }
            }

            Assert.Equal(0, await second.TerminateAsync());
        }

        Assert.DoesNotContain(resumed, i => i.EventType == "gap");
        var ids = resumed.Select(i => Parse(i.EventId!)).ToArray();
        Assert.Equal("complete", (string?)acknowledgement["resume"]);
        Assert.Equal(ids, overWebSocket);
        Assert.All(ids, id => Assert.Equal(epoch, id.Epoch)); // the store's epoch, kept across the restart
        Assert.True(ids[^1].Sequence > lastOfFirstRun);
        // Exactly what history holds of the site after the client's id, in order: nothing missed, nothing doubled.
        var site = await StoredIdsAsync(epoch, "site-1");
        var after = Parse(resumeFrom).Sequence;
        Assert.Equal(site.Where(s => s > after).Take(ids.Length), ids.Select(i => i.Sequence));
        // The second run's ids follow on from the first's, with no hole at the restart.
        var all = await StoredIdsAsync(epoch);
        Assert.Equal(lastOfFirstRun + 1, all.Where(s => s > lastOfFirstRun).Min());
    }

    [Fact]
    public async Task A_client_resuming_with_an_id_of_another_store_is_told_of_the_gap()
    {
        string foreign;
        await using (var other = await StartAsync(Path.Combine(_root, "other")))
        {
            foreign = (await SseClient.ReadAsync(other.Client, "/stream/sites/site-1", 3, TimeSpan.FromSeconds(30)))[^1].EventId!;
            Assert.Equal(0, await other.TerminateAsync());
        }

        // This store has run before, later than the other: it holds events that sort after the foreign id, none of them its.
        await using (var earlier = await StartAsync(Data))
        {
            await SseClient.ReadAsync(earlier.Client, "/stream/sites/site-1", 10, TimeSpan.FromSeconds(30));
            Assert.Equal(0, await earlier.TerminateAsync());
        }

        await using var hub = await StartAsync(Data);
        var items = await SseClient.ReadAsync(hub.Client, "/stream/sites/site-1", 2, TimeSpan.FromSeconds(30), foreign);

        Assert.Equal("gap", items[0].EventType);
        Assert.NotEqual(Parse(foreign).Epoch, Parse(items[1].EventId!).Epoch);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes: on Windows the platform protects the keys (DPAPI)
    public async Task A_fresh_start_warns_about_nothing_and_keeps_its_data_protection_keys_owner_only()
    {
        await using (var hub = await StartAsync(Data))
        {
            await SseClient.ReadAsync(hub.Client, "/api/v1/live", 1, TimeSpan.FromSeconds(30));
            Assert.Equal(0, await hub.TerminateAsync());
            var lines = hub.Output.Split('\n');
            Assert.DoesNotContain(lines, l => WarningOrWorse().IsMatch(l));
        }

        var keys = Path.Combine(Data, DataProtectionKeys.FolderName);
        var files = Directory.GetFiles(keys, "*.xml");
        Assert.NotEmpty(files);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keys));
        Assert.All(files, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
    }

    [Fact]
    public async Task A_session_cookie_issued_before_a_restart_still_works_after_it()
    {
        string[] tokens = ["--Auth:Mode=token", $"--Auth:HmacSecret={AuthTests.Secret}"];
        string cookie;
        await using (var first = await StartAsync(Data, tokens))
        {
            using var login = await first.Client.PostAsync("/api/session", new StringContent($$"""{"token":"{{AuthTests.Token()}}"}""", Encoding.UTF8, "application/json"));
            login.EnsureSuccessStatusCode();
            cookie = login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
            Assert.Equal(0, await first.TerminateAsync());
        }

        await using var second = await StartAsync(Data, tokens);
        using var anonymous = await second.Client.GetAsync("/api/sites");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sites");
        request.Headers.Add("Cookie", cookie);
        using var withCookie = await second.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
    }

    // A hub on the simulator, stepping every 200 ms; the test's output gets what it logged.
    private async Task<RunningHub> StartAsync(string data, params string[] settings)
    {
        var hub = await RunningHub.StartAsync(data, null, ["--Simulation:Seed=11", "--Simulation:Interval=00:00:00.200", .. settings]);
        _started.Add(hub);
        return hub;
    }

    private static (long Epoch, long Sequence) Parse(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return (long.Parse(id[..dash], System.Globalization.CultureInfo.InvariantCulture), long.Parse(id[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    // The sequences the store holds in an epoch (of one site, or of all), in order; read while no hub runs.
    private async Task<List<long>> StoredIdsAsync(long epoch, string? site = null)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(Data, "wattstream.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT r.seq FROM readings r JOIN ders d ON d.id = r.der_id WHERE r.epoch = $epoch AND ($site IS NULL OR d.site = $site) ORDER BY r.seq";
        command.Parameters.AddWithValue("$epoch", epoch);
        command.Parameters.AddWithValue("$site", (object?)site ?? DBNull.Value);
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    // The lock file is read as the refused hub reads it: shared, beside the holder's record lock.
    private async Task<string> ReadLockFileAsync()
    {
        await using var file = new FileStream(Path.Combine(Data, DataDirectoryLock.FileName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(file);
        return await reader.ReadToEndAsync();
    }

    [GeneratedRegex(@"^\s*(warn|fail|crit):")]
    private static partial Regex WarningOrWorse();
}
