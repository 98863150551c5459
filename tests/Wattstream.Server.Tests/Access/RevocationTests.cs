using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Wattstream.Streaming.Sessions;
using Wattstream.Testing;

namespace Wattstream.Server.Tests;

/// <summary>Revoking an API key ends the streams it opened, on every transport, and refuses it from then on.</summary>
public sealed class RevocationTests : IAsyncLifetime
{
    private static readonly TimeSpan FewSeconds = TimeSpan.FromSeconds(10);

    private WattstreamHost _host = null!;

    public async Task InitializeAsync() => _host = await AuthTests.StartTokenHostAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string Admin => AuthTests.Token("demo", scopes: "admin read");

    private async Task<(string Key, string Id)> CreateKeyAsync()
    {
        using var request = AuthTests.Request(HttpMethod.Post, "/api/keys", Admin);
        request.Content = JsonContent.Create(new { name = "dashboard", orgs = new[] { "demo" }, scopes = new[] { "read" } });
        using var created = await _host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        return ((string)body["key"]!, (string)body["details"]!["id"]!);
    }

    private async Task<ClientWebSocket> ConnectAsync(string path, string key)
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(new Uri(_host.BaseAddress, path)) { Scheme = "ws", Query = $"access_token={key}" }.Uri;
        using var cts = new CancellationTokenSource(FewSeconds);
        await socket.ConnectAsync(uri, cts.Token);
        return socket;
    }

    /// <summary>Reads until the server closes; returns how many messages came.</summary>
    private static async Task<int> ReadUntilClosedAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        var messages = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return messages;
            }

            if (result.EndOfMessage)
            {
                messages++;
            }
        }
    }

    [Fact]
    public async Task Revoking_a_key_ends_its_sse_ws_and_dersim_streams_within_seconds_and_it_is_refused_afterwards()
    {
        var (key, id) = await CreateKeyAsync();
        var supervisor = _host.Service<StreamSupervisor>();
        using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // SSE: every event until the stream ends.
        using var sseClient = new HttpClient { BaseAddress = _host.BaseAddress };
        using var sseResponse = await sseClient.GetAsync($"/stream/sites/site-1?access_token={key}", HttpCompletionOption.ResponseHeadersRead, reading.Token);
        Assert.Equal(HttpStatusCode.OK, sseResponse.StatusCode);
        var sseStream = await sseResponse.Content.ReadAsStreamAsync(reading.Token);
        var sseEvents = new List<SseItem<string>>();
        var sse = Task.Run(async () =>
        {
            await foreach (var item in SseParser.Create(sseStream).EnumerateAsync(reading.Token))
            {
                sseEvents.Add(item);
            }
        });

        // /ws with a subscription, and the DERSim socket.
        using var ws = await ConnectAsync("/ws", key);
        await ws.SendAsync("""{"type":"subscribe","id":"all","subject":"orgs.demo.>"}"""u8.ToArray(), WebSocketMessageType.Text, true, reading.Token);
        var wsRead = ReadUntilClosedAsync(ws, reading.Token);
        using var dersim = await ConnectAsync("/api/dersim/ws/telemetry", key);
        var dersimRead = ReadUntilClosedAsync(dersim, reading.Token);

        // All three are open and delivering.
        await Eventually.UntilAsync(() => supervisor.Sessions == 3 && sseEvents.Count > 0, "the three streams to open and deliver");

        using var revoke = AuthTests.Request(HttpMethod.Delete, $"/api/keys/{id}", Admin);
        using var revoked = await _host.Client.SendAsync(revoke);
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

        // Within seconds each ends the transport's way: SSE with a last `auth` event, the sockets with 1008.
        var ended = Task.WhenAll(sse, wsRead, dersimRead);
        Assert.Same(ended, await Task.WhenAny(ended, Task.Delay(FewSeconds)));
        await ended;
        Assert.Equal("auth", sseEvents[^1].EventType);
        Assert.Equal("credential_revoked", (string?)JsonNode.Parse(sseEvents[^1].Data)!["error"]);
        Assert.True(await wsRead > 0);
        Assert.True(await dersimRead > 0);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, dersim.CloseStatus);
        Assert.Contains("revoked", ws.CloseStatusDescription, StringComparison.Ordinal);

        // And the key is refused from now on, for a stream as for anything else.
        using var again = await sseClient.GetAsync($"/stream/sites/site-1?access_token={key}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        await Eventually.UntilAsync(() => supervisor.Sessions == 0, "every session of the key to be gone");
    }

    [Fact]
    public async Task A_token_stream_and_a_stream_of_another_key_run_on_when_a_key_is_revoked()
    {
        var (key, id) = await CreateKeyAsync();
        var (other, _) = await CreateKeyAsync();
        using var viaOther = await ConnectAsync("/api/dersim/ws/telemetry", other);
        using var viaToken = await ConnectAsync("/api/dersim/ws/telemetry", AuthTests.Token("demo"));
        using var viaKey = await ConnectAsync("/api/dersim/ws/telemetry", key);
        using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var keyRead = ReadUntilClosedAsync(viaKey, reading.Token);

        using var revoke = AuthTests.Request(HttpMethod.Delete, $"/api/keys/{id}", Admin);
        (await _host.Client.SendAsync(revoke)).Dispose();
        Assert.Same(keyRead, await Task.WhenAny(keyRead, Task.Delay(FewSeconds)));

        // The others still receive after the revoked key's stream has ended.
        var buffer = new byte[1 << 16];
        foreach (var socket in new[] { viaOther, viaToken })
        {
            for (var i = 0; i < 20; i++)
            {
                var result = await socket.ReceiveAsync(buffer, reading.Token);
                Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            }
        }
    }
}
