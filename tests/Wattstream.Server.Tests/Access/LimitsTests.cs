using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>Limits per caller and per client address: the one over a limit gets 429, everyone else is served.</summary>
public class LimitsTests
{
    [Fact]
    public async Task Streams_beyond_a_callers_limit_or_an_addresss_limit_get_429_while_others_are_served()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Limits:MaxStreamsPerCaller=3", "--Limits:MaxStreamsPerIp=5");
        using var a = Client(host, AuthTests.Token(sites: "site-1"));
        using var b = Client(host, AuthTests.TokenFor("someone-else"));
        using var bElsewhere = Client(host, AuthTests.TokenFor("someone-else"), from: "127.0.0.2");
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                open.Add(await OpenStreamAsync(a, i % 2 == 0 ? "/api/sse/meters" : "/stream/sites/site-1"));
            }

            using var fourthOfA = await OpenStreamAsync(a, "/stream/sites/site-1");
            open.Add(await OpenStreamAsync(b, "/api/sse/meters"));
            open.Add(await OpenStreamAsync(b, "/api/sse/meters"));
            using var sixthFromTheAddress = await OpenStreamAsync(b, "/api/sse/meters");
            using var fromAnotherAddress = await OpenStreamAsync(bElsewhere, "/api/sse/meters");
            using var notAStream = await a.GetAsync("/api/sites");

            Assert.Equal(HttpStatusCode.TooManyRequests, fourthOfA.StatusCode);
            Assert.Equal("too_many_requests", (string?)JsonNode.Parse(await fourthOfA.Content.ReadAsStringAsync())!["error"]);
            Assert.True(fourthOfA.Headers.RetryAfter is not null);
            Assert.Equal(HttpStatusCode.TooManyRequests, sixthFromTheAddress.StatusCode);
            Assert.Equal(HttpStatusCode.OK, fromAnotherAddress.StatusCode);
            Assert.Equal(HttpStatusCode.OK, notAStream.StatusCode); // the limit is on streams, not on the caller's other requests
        }
        finally
        {
            open.ForEach(r => r.Dispose());
        }

        // A closed stream gives its place back.
        await Eventually.UntilAsync(async () =>
        {
            using var again = await OpenStreamAsync(a, "/api/sse/meters");
            return again.StatusCode == HttpStatusCode.OK;
        }, "a stream of the caller is served again once its others closed");
    }

    [Fact]
    public async Task A_thousand_streams_from_one_address_past_its_limit_get_429_while_another_address_is_served()
    {
        await using var host = await WattstreamHost.StartAsync("--Limits:MaxStreamsPerIp=20");
        using var crowd = Client(host, token: null, maxConnections: 64);
        using var neighbour = Client(host, token: null, from: "127.0.0.2");
        var held = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                held.Add(await OpenStreamAsync(crowd, "/api/sse/meters"));
            }

            var statuses = new List<HttpStatusCode>();
            for (var batch = 0; batch < 10; batch++)
            {
                statuses.AddRange(await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
                {
                    using var response = await OpenStreamAsync(crowd, "/api/sse/meters"); // disposed at once: its connection is free again
                    return response.StatusCode;
                })));
            }

            var events = await SseClient.ReadAsync(neighbour, "/api/sse/meters", 3, TimeSpan.FromSeconds(15));

            Assert.All(held, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Equal(1000, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
            Assert.Equal(3, events.Count);
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task Requests_beyond_a_callers_rate_get_429_with_retry_after_and_another_caller_is_not_slowed()
    {
        // One request a second, a burst of two. What passes depends only on how many seconds the 40 requests took, so
        // the bounds are taken from the measured time: they hold on a machine of any speed.
        await using var host = await AuthTests.StartTokenHostAsync("--Limits:RequestsPerSecondPerCaller=1");
        using var busy = Client(host, AuthTests.Token());
        using var calm = Client(host, AuthTests.TokenFor("calm"));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => busy.GetAsync("/api/sites")));
        var refills = (int)Math.Ceiling(watch.Elapsed.TotalSeconds) + 1; // a refill a second, one more at a boundary
        using var calmResponse = await calm.GetAsync("/api/sites");

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{r.StatusCode}"));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToArray();
        var passed = responses.Length - refused.Length;
        Assert.InRange(passed, 2, 2 + refills); // the burst always passes; past it, one a second
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.True(r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1)));
        Assert.Equal(HttpStatusCode.OK, calmResponse.StatusCode);
        Array.ForEach(responses, r => r.Dispose());
    }

    [Fact]
    public async Task An_address_that_keeps_presenting_refused_credentials_gets_429_and_another_address_does_not()
    {
        await using var host = await AuthTests.StartTokenHostAsync("--Limits:AuthFailuresPerMinutePerIp=5");
        using var guesser = Client(host, AuthTests.Token(secret: "a-secret-that-this-hub-does-not-know!!"));
        using var honest = Client(host, AuthTests.Token(), from: "127.0.0.2");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await guesser.GetAsync("/api/sites");
            statuses.Add(response.StatusCode);
        }

        using var honestResponse = await honest.GetAsync("/api/sites");

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), statuses.Take(5));
        Assert.All(statuses.Skip(5), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.Equal(HttpStatusCode.OK, honestResponse.StatusCode);
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient client, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>A client of the host, optionally with a token, optionally connecting from another loopback address.</summary>
    private static HttpClient Client(WattstreamHost host, string? token, string? from = null, int maxConnections = int.MaxValue) =>
        Client(host.BaseAddress, token, from, maxConnections);

    /// <summary>A client of <paramref name="baseAddress"/>, optionally with a token, optionally from another loopback address.</summary>
    internal static HttpClient Client(Uri baseAddress, string? token, string? from = null, int maxConnections = int.MaxValue)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections };
        if (from is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}
