using System.Net.ServerSentEvents;

namespace Wattstream.Server.Tests;

/// <summary>Reads SSE as any .NET client would: HttpClient streaming plus SseParser.</summary>
internal static class SseClient
{
    public static async Task<List<SseItem<string>>> ReadAsync(HttpClient client, string path, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
        {
            items.Add(item);
            if (items.Count == count)
            {
                break;
            }
        }

        return items;
    }
}
