using Microsoft.AspNetCore.Builder;
using Wattstream.Server;

namespace Wattstream.Server.Tests;

/// <summary>The real Wattstream host on a free loopback port, with settings given as command-line options.</summary>
public sealed class WattstreamHost : IAsyncDisposable
{
    private int _disposed;

    private WattstreamHost(WebApplication app, Uri baseAddress, string dataDirectory)
    {
        App = app;
        DataDirectory = dataDirectory;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    /// <summary>This host's own SQLite folder, removed at the end.</summary>
    public string DataDirectory { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public T Service<T>()
        where T : notnull => (T)App.Services.GetService(typeof(T))!;

    public static Task<WattstreamHost> StartAsync(params string[] settings) => StartAsync(null, settings);

    public static async Task<WattstreamHost> StartAsync(Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var data = Path.Combine(Path.GetTempPath(), $"wattstream-test-{Guid.NewGuid():N}");
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            $"--Storage:DataDirectory={data}",
            "--Logging:LogLevel:Default=Warning",
            "--Simulation:Seed=11",
            "--Simulation:Interval=00:00:00.200",
            .. settings,
        ];
        var app = WattstreamApp.Build(args, configure);
        await app.StartAsync();
        var address = WattstreamApp.Addresses(app).Single();
        return new WattstreamHost(app, new Uri(address), data);
    }

    /// <summary>Stops the host as a service stop does; a second call does nothing (a test and its fixture may both stop it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}

/// <summary>One host shared by the tests of a class.</summary>
public sealed class SharedHost : IAsyncLifetime
{
    public WattstreamHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await WattstreamHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
