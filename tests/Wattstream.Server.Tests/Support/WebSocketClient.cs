using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>A ClientWebSocket with helpers to send and receive JSON text messages.</summary>
internal sealed class WebSocketClient : IAsyncDisposable
{
    private readonly byte[] _buffer = new byte[1 << 20];

    private WebSocketClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static Task<WebSocketClient> ConnectAsync(WattstreamHost host, string path) => ConnectAsync(host.BaseAddress, path);

    public static async Task<WebSocketClient> ConnectAsync(Uri baseAddress, string path)
    {
        var socket = new ClientWebSocket();
        var uri = new Uri(baseAddress, path);
        var ws = new UriBuilder(uri) { Scheme = "ws" }.Uri;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(ws, cts.Token);
        return new WebSocketClient(socket);
    }

    public async Task SendAsync(string text)
    {
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    /// <summary>The next text message, or null when the server closed.</summary>
    public async Task<string?> ReceiveTextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var length = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(new ArraySegment<byte>(_buffer, length, _buffer.Length - length), cts.Token);
            length += result.Count;
        }
        while (!result.EndOfMessage);

        return result.MessageType == WebSocketMessageType.Close ? null : Encoding.UTF8.GetString(_buffer, 0, length);
    }

    public async Task<JsonNode> ReceiveJsonAsync(TimeSpan? timeout = null) =>
        JsonNode.Parse(await ReceiveTextAsync(timeout) ?? throw new InvalidOperationException($"closed: {Socket.CloseStatus} {Socket.CloseStatusDescription}"))!;

    /// <summary>Messages until one matches.</summary>
    public async Task<JsonNode> ReceiveUntilAsync(Func<JsonNode, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var message = await ReceiveJsonAsync(deadline - DateTime.UtcNow);
            if (match(message))
            {
                return message;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (Socket.State == WebSocketState.Open)
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
            else if (Socket.State == WebSocketState.CloseReceived)
            {
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token); // answer the server's close
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }

        Socket.Dispose();
    }
}
