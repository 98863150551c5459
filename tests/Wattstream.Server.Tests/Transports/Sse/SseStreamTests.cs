namespace Wattstream.Server.Tests;

public class SseStreamTests
{
    [Fact]
    public async Task An_idle_stream_gets_comment_heartbeats()
    {
        // The simulator steps once at start and then not for an hour: the stream stays idle.
        await using var host = await WattstreamHost.StartAsync("--Simulation:Interval=01:00:00", "--Streaming:HeartbeatInterval=00:00:00.300");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await host.Client.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        using var reader = new StreamReader(stream);

        var heartbeats = 0;
        while (heartbeats < 2 && await reader.ReadLineAsync(cts.Token) is { } line)
        {
            Assert.DoesNotContain("event: live", line, StringComparison.Ordinal);
            if (line == ": heartbeat")
            {
                heartbeats++;
            }
        }

        Assert.Equal(2, heartbeats);
    }

    [Fact]
    public async Task Stopping_the_host_ends_open_streams()
    {
        var host = await WattstreamHost.StartAsync();
        using var response = await host.Client.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        var live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var drained = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            var received = new System.Text.StringBuilder();
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                received.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
                if (received.ToString().Contains("event: live", StringComparison.Ordinal))
                {
                    live.TrySetResult();
                }
            }

            return received.ToString(); // the end of the stream: the read returned 0, no reset
        });
        await live.Task.WaitAsync(TimeSpan.FromSeconds(15)); // the stream is open and delivering
        var supervisor = host.Service<Wattstream.Streaming.Sessions.StreamSupervisor>();
        Assert.Equal(1, supervisor.Sessions);

        await host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        var whole = await drained.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Contains("event: live", whole, StringComparison.Ordinal);
        Assert.Equal(0, supervisor.Sessions);
    }
}

/// <summary>What an SSE client sees when the hub shuts down.</summary>
public class SseShutdownTests
{
    [Fact]
    public async Task Shutting_down_ends_a_stream_whole_with_a_last_retry_hint()
    {
        var host = await WattstreamHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        using var response = await client.GetAsync("/stream/sites/site-1", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);
        var first = await reader.ReadLineAsync(); // "retry: 5000", the stream is open
        string? line;
        do
        {
            line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15)); // until a reading has come
        }
        while (line is not null && !line.StartsWith("data: ", StringComparison.Ordinal));

        var stopping = host.DisposeAsync().AsTask();
        var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(15)); // ends normally, not with a reset
        await stopping.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal("retry: 5000", first);
        Assert.NotNull(line);
        Assert.EndsWith("retry: 5000\n\n", rest, StringComparison.Ordinal);
    }
}
