using System.Net.ServerSentEvents;

namespace Wattstream.Server.Tests;

/// <summary>Reads SSE as any .NET client would: HttpClient streaming plus SseParser.</summary>
internal static class SseClient
{
    public static async Task<List<SseItem<string>>> ReadAsync(
        HttpClient client,
        string path,
        int count,
        TimeSpan timeout,
        string? lastEventId = null,
        Func<SseItem<string>, bool>? until = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
        {
            items.Add(item);
            if (items.Count == count || (until is not null && until(item)))
            {
                break;
            }
        }

        return items;
    }

    public static long Sequence(string eventId) => long.Parse(eventId.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
}
