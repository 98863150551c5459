using Xunit.Abstractions;

namespace Wattstream.Server.Tests;

/// <summary>
/// Every command line of README.md's shell blocks runs as shown (on the test's own loopback ports and folders), or its
/// block is marked <c>&lt;!-- readme-test: skip: REASON --&gt;</c> and the reason is printed, so the README cannot rot.
/// </summary>
public sealed class ReadmeCommandTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_command_line_of_the_readme_runs_as_shown_or_its_block_is_skipped_with_a_reason()
    {
        var root = RepoFiles.Root;
        var blocks = ReadmeBlock.Parse(await File.ReadAllTextAsync(Path.Combine(root, "README.md")));
        await using var runner = new ReadmeRunner(root, output.WriteLine);

        var failures = await runner.RunAsync(blocks);

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.Equal(blocks.Sum(b => b.Commands.Count), runner.Run + runner.Skipped);
        Assert.True(runner.Run > runner.Skipped, $"{runner.Run} run, {runner.Skipped} skipped");
        Assert.All(blocks.Where(b => b.Skip is not null), b => Assert.False(string.IsNullOrWhiteSpace(b.Skip)));
    }

    [Fact]
    public async Task A_cluster_node_without_a_simulator_or_sources_is_ready_since_the_clusters_stream_feeds_it()
    {
        // The README's second NATS node (--Simulation:Enabled=false) answered 503 "nothing feeds the hub" for ever.
        await using var nats = await NatsServer.StartAsync();
        await using var node = await WattstreamHost.StartAsync("--Simulation:Enabled=false", $"--Nats:Url={nats.Url}", "--Nats:Cluster=true");

        using var response = await node.Client.GetAsync("/readyz");

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, body);
        Assert.Equal("the cluster's stream", (string?)System.Text.Json.Nodes.JsonNode.Parse(body)!["checks"]!["feeds"]!["detail"]);
    }

    [Fact]
    public async Task A_command_line_the_test_cannot_run_fails_it_instead_of_being_skipped()
    {
        var blocks = ReadmeBlock.Parse("""
            # Title

            ```
            curl http://127.0.0.1:8111/readyz
            make install   # something new
            ```
            """);
        await using var runner = new ReadmeRunner(RepoFiles.Root, output.WriteLine);

        var failures = await runner.RunAsync(blocks);

        Assert.Equal(ReadmeKind.Request, blocks.Single().Commands[0].Kind);
        Assert.Equal(ReadmeKind.Unknown, blocks.Single().Commands[1].Kind);
        var failure = Assert.Single(failures);
        Assert.StartsWith("README.md:5: the test does not know how to run `make install`", failure, StringComparison.Ordinal);
        Assert.Equal(0, runner.Run); // refused before anything ran
    }

    [Fact]
    public void A_skip_marker_gives_its_reason_and_a_marker_of_another_form_is_refused()
    {
        var skipped = ReadmeBlock.Parse("""
            <!-- readme-test: skip: needs a real device -->
            ```bash
            tail http://192.0.2.1/api/v1/live
            ```

            ```json
            {"not":"a command"}
            ```
            """);
        var block = Assert.Single(skipped);
        Assert.Equal("needs a real device", block.Skip);

        var misspelt = Assert.Throws<FormatException>(() => ReadmeBlock.Parse("<!-- readme-test: skipp: x -->\n```\nls\n```\n"));
        Assert.Contains("README.md:1", misspelt.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => ReadmeBlock.Parse("<!-- readme-test: skip: -->\n```\nls\n```\n"));
    }

    [Fact]
    public void The_test_runs_commands_on_its_own_loopback_ports_folders_and_data_directories_never_on_every_interface()
    {
        var block = ReadmeBlock.Parse("""
            ```bash
            nats-server -js -sd /tmp/nats &                                  # or a NATS cluster
            dotnet run -c Release --project src/Wattstream.Server -- --urls http://0.0.0.0:8111 --Auth:Mode=token
            Sources__0__Password=secret dotnet run --project src/Wattstream.Server -- \
              --Sources:0:Url=http://127.0.0.1:8080 --Nats:Url=nats://127.0.0.1:4222
            token=$(dotnet run -c Release --project src/Wattstream.Server -- token create --org demo)
            curl -N "http://127.0.0.1:8111/api/v1/live?access_token=$token"
            ```
            """).Single();
        var ports = new Dictionary<int, int> { [8111] = 40001, [8080] = 40002, [4222] = 40003 };
        var rewrite = new ReadmeRewrite(RepoFiles.Root, "/build/wattstream.dll", "/work/f", p => ports[p]);

        var run = block.Commands.Select(c => c.Rewrite(rewrite)).ToArray();

        Assert.Equal([ReadmeKind.NatsServer, ReadmeKind.Hub, ReadmeKind.Hub, ReadmeKind.Shell, ReadmeKind.Stream], block.Commands.Select(c => c.Kind));
        Assert.Equal("nats-server -js -sd '/work/f'/nats -a 127.0.0.1 -p 40003", run[0]);
        Assert.Equal("dotnet '/build/wattstream.dll' --Storage:DataDirectory='/work/f/hub-line-3' --urls http://127.0.0.1:40001 --Auth:Mode=token", run[1]);
        Assert.Equal("Sources__0__Password=secret dotnet '/build/wattstream.dll' --urls http://127.0.0.1:40001 --Storage:DataDirectory='/work/f/hub-line-4' --Sources:0:Url=http://127.0.0.1:40002 --Nats:Url=nats://127.0.0.1:40003", run[2]);
        Assert.Equal("token=$(dotnet '/build/wattstream.dll' token create --org demo)", run[3]); // a verb: no hub settings
        Assert.Equal("curl -sS --fail-with-body -N \"http://127.0.0.1:40001/api/v1/live?access_token=$token\"", run[4]);
        Assert.All(run, r => Assert.DoesNotContain("0.0.0.0", r, StringComparison.Ordinal));

        var everywhere = ReadmeBlock.Parse("```\ndotnet run --project src/Wattstream.Server -- --urls http://*:8111\n```").Single().Commands.Single();
        Assert.Throws<InvalidOperationException>(() => everywhere.Rewrite(rewrite));
    }
}
