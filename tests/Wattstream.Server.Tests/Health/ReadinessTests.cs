using System.Net;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

public class ReadinessTests
{
    [Fact]
    public async Task Readyz_names_each_dependency_and_is_200_when_all_are_healthy()
    {
        await using var host = await WattstreamHost.StartAsync();

        using var response = await host.Client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("healthy", (string?)body["status"]);
        Assert.Equal(["draining", "feeds", "store"], body["checks"]!.AsObject().Select(c => c.Key).Order());
        Assert.StartsWith("simulator: 3 sites", (string?)body["checks"]!["feeds"]!["detail"], StringComparison.Ordinal);
        Assert.StartsWith("sqlite", (string?)body["checks"]!["store"]!["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_is_503_while_nothing_feeds_the_hub()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false");

        using var response = await host.Client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("unhealthy", (string?)body["checks"]!["feeds"]!["status"]);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode); // alive all the same
    }
}
