using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Wattstream.Server;

namespace Wattstream.Benchmarks;

/// <summary>
/// What <c>POST /api/readings?durable=true</c> costs: the answer waits until the readings are committed to SQLite (the
/// writer flushes at once for it) instead of returning as soon as the hub accepted them. A real host on loopback.
/// </summary>
[MemoryDiagnoser]
public class DurablePushBenchmark
{
    private string _data = "";
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private long _timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Params(1, 100)]
    public int Readings { get; set; }

    [GlobalSetup]
    public async Task StartAsync()
    {
        _data = Path.Combine(Path.GetTempPath(), $"wattstream-bench-{Guid.NewGuid():N}");
        _app = WattstreamApp.Build(["--urls", "http://127.0.0.1:0", $"--Storage:DataDirectory={_data}", "--Simulation:Enabled=false", "--Logging:LogLevel:Default=Warning"]);
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(WattstreamApp.Addresses(_app).Single()) };
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public Task<HttpResponseMessage> Push() => PostAsync("/api/readings");

    [Benchmark]
    public Task<HttpResponseMessage> PushDurable() => PostAsync("/api/readings?durable=true");

    private Task<HttpResponseMessage> PostAsync(string path)
    {
        var body = new StringBuilder();
        for (var i = 0; i < Readings; i++)
        {
            body.Append(CultureInfo.InvariantCulture, $$"""{"org":"bench","site":"s","device":"d","der":"m{{i}}","type":"meter","timestamp":{{++_timestamp}},"W":{{i}}}""").Append('\n');
        }

        return _client.PostAsync(path, new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson"));
    }
}
