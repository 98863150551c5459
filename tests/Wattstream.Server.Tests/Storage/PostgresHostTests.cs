using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>One connection-string setting moves history to PostgreSQL.</summary>
public class PostgresHostTests(PostgresCluster cluster) : IClassFixture<PostgresCluster>
{
    [Fact]
    public async Task With_a_connection_string_history_is_kept_in_postgres_and_queried_from_it()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        await using var host = await WattstreamHost.StartAsync($"--Storage:PostgresConnectionString={connectionString}", "--Storage:FlushInterval=00:00:00.050");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        JsonNode status;
        do
        {
            await Task.Delay(200);
            status = JsonNode.Parse(await host.Client.GetStringAsync("/api/storage"))!;
        }
        while ((long)status["written"]! < 30 && DateTime.UtcNow < deadline);

        Assert.Equal("postgres", (string?)status["store"]);
        Assert.True((long)status["written"]! >= 30);
        Assert.False(File.Exists(Path.Combine(host.DataDirectory, "wattstream.db"))); // no SQLite file beside it

        var history = JsonNode.Parse(await host.Client.GetStringAsync("/api/history?site=site-1&step=1s&fields=w"))!;
        Assert.Equal(4, history["series"]!.AsArray().Count);
        Assert.NotEmpty(history["series"]![0]!["points"]!.AsArray());
    }
}
