using System.Buffers.Text;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.SignalR.Client;
using NATS.Client.Core;

namespace Wattstream.LoadTool;

/// <summary>One subscriber of one transport. It counts what arrives and records each message's latency.</summary>
public abstract class LoadClient
{
    private static readonly byte[] PubKey = "\"pub\":"u8.ToArray();
    private long _received;

    public long Received => Interlocked.Read(ref _received);

    public abstract Task ConnectAsync(Uri server, CancellationToken cancellationToken);

    /// <summary>Reads until cancelled.</summary>
    public abstract Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken);

    protected void OnMessage(ReadOnlySpan<byte> message, LatencyHistogram latencies)
    {
        var now = DateTime.UtcNow.Ticks;
        var at = message.IndexOf(PubKey);
        if (at >= 0 && Utf8Parser.TryParse(message[(at + PubKey.Length)..], out long pub, out _))
        {
            Interlocked.Increment(ref _received); // protocol messages (hello, acks) carry no publish time and do not count
            latencies.Record((now - pub) / 10);
        }
    }

    public static LoadClient Create(string target) => target switch
    {
        "wattstream-sse" => new SseClient("/stream/sites/bench"),
        "wattstream-ws" => new WsClient("/ws", """{"type":"subscribe","id":"b","subject":"orgs.bench.sites.bench.>"}"""),
        "node-ws" => new WsClient("/ws", null),
        "signalr" => new SignalRClient(),
        "nats" => new NatsClient(),
        _ => throw new ArgumentException($"unknown target '{target}'"),
    };
}

public sealed class SseClient(string path) : LoadClient
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = Timeout.InfiniteTimeSpan };
    private Stream? _stream;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        var response = await Http.GetAsync(new Uri(server, path), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        _stream = await response.Content.ReadAsStreamAsync(cancellationToken);
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        var parser = SseParser.Create(_stream!, (type, data) => data.ToArray());
        await foreach (var item in parser.EnumerateAsync(cancellationToken))
        {
            OnMessage(item.Data, latencies);
        }
    }
}

public sealed class WsClient(string path, string? subscribe) : LoadClient
{
    private readonly ClientWebSocket _socket = new();

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        var uri = new UriBuilder(new Uri(server, path)) { Scheme = "ws" }.Uri;
        await _socket.ConnectAsync(uri, cancellationToken);
        if (subscribe is not null)
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, true, cancellationToken);
        }
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var length = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await _socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                    length += r.Count;
                }
                while (!r.EndOfMessage);

                OnMessage(buffer.AsSpan(0, length), latencies);
            }
        }
        finally
        {
            _socket.Abort();
        }
    }
}

public sealed class SignalRClient : LoadClient
{
    private HubConnection? _connection;
    private LatencyHistogram? _latencies;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        _connection = new HubConnectionBuilder().WithUrl(new Uri(server, "/hub")).Build();
        _connection.On<string>("r", line => OnMessage(Encoding.UTF8.GetBytes(line), _latencies!));
        await _connection.StartAsync(cancellationToken);
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        _latencies = latencies;
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _connection!.DisposeAsync();
    }
}

public sealed class NatsClient : LoadClient
{
    public const string Subject = "bench.readings";
    private NatsConnection? _nats;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        _nats = new NatsConnection(new NatsOpts { Url = server.ToString(), SubPendingChannelCapacity = 1024 });
        await _nats.ConnectAsync();
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var msg in _nats!.SubscribeAsync<byte[]>(Subject, cancellationToken: cancellationToken))
            {
                OnMessage(msg.Data, latencies);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await _nats!.DisposeAsync();
        }
    }
}
