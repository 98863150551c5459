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

    /// <summary>
    /// Opens a stream and collects what arrives for <paramref name="duration"/>; fails if the stream ends before then (a
    /// stream that should stay open and silent must not pass by closing).
    /// </summary>
    public static async Task<(System.Net.HttpStatusCode Status, List<SseItem<string>> Items)> ListenAsync(HttpClient client, string path, TimeSpan duration)
    {
        using var opening = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, opening.Token);
        var items = new List<SseItem<string>>();
        if (!response.IsSuccessStatusCode)
        {
            return (response.StatusCode, items);
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var listening = new CancellationTokenSource(duration);
        await using var stream = await response.Content.ReadAsStreamAsync(opening.Token);
        try
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(listening.Token))
            {
                items.Add(item);
            }
        }
        catch (OperationCanceledException) when (listening.IsCancellationRequested)
        {
            return (response.StatusCode, items);
        }

        throw new Xunit.Sdk.XunitException($"{path}: the stream ended within {duration} instead of staying open");
    }

    public static long Sequence(string eventId) => long.Parse(eventId.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
}
