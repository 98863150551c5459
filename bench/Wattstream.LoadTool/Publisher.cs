using System.Text;
using NATS.Client.Core;

namespace Wattstream.LoadTool;

/// <summary>
/// Sends NDJSON batches the way each system takes them: Wattstream's push API, the peers' /publish, or NATS publishes
/// (one message per line, on the reading's site subject: NATS has no batch to post).
/// </summary>
internal abstract class Publisher : IAsyncDisposable
{
    public static async Task<Publisher> CreateAsync(string target, Uri server)
    {
        if (target == "nats")
        {
            var nats = new NatsConnection(new NatsOpts { Url = server.ToString() });
            await nats.ConnectAsync();
            return new NatsPublisher(nats);
        }

        return new HttpPublisher(new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) }, target.StartsWith("wattstream", StringComparison.Ordinal) ? "/api/readings" : "/publish");
    }

    public abstract Task PublishAsync(string ndjson);

    public abstract ValueTask DisposeAsync();

    private sealed class HttpPublisher(HttpClient http, string path) : Publisher
    {
        public override async Task PublishAsync(string ndjson)
        {
            using var content = new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson");
            using var response = await http.PostAsync(path, content);
            response.EnsureSuccessStatusCode();
        }

        public override ValueTask DisposeAsync()
        {
            http.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class NatsPublisher(NatsConnection nats) : Publisher
    {
        public override async Task PublishAsync(string ndjson)
        {
            foreach (var line in ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await nats.PublishAsync(NatsClient.SubjectOf(Workload.SiteIn(line)), Encoding.UTF8.GetBytes(line));
            }

            await nats.PingAsync(); // the batch has reached the server before the next one is timed
        }

        public override ValueTask DisposeAsync() => nats.DisposeAsync();
    }
}
