using System.Buffers.Text;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.SignalR.Client;
using NATS.Client.Core;

namespace Wattstream.LoadTool;

/// <summary>One subscriber of one transport, to one site. It counts what arrives and records each message's latency.</summary>
public abstract class LoadClient
{
    private static readonly byte[] PubKey = "\"pub\":"u8.ToArray();
    private static readonly byte[] SeqKey = "\"seq\":"u8.ToArray();
    private long _received;
    private long _duplicates;
    private ulong[] _seen = new ulong[64]; // a bit per sequence number: readings can arrive out of order (concurrent publish requests)

    public long Received => Interlocked.Read(ref _received);

    /// <summary>Messages whose sequence had arrived before (a resume that replayed too much).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    public abstract Task ConnectAsync(Uri server, CancellationToken cancellationToken);

    /// <summary>Reads until cancelled.</summary>
    public abstract Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken);

    /// <summary>Drops the connection as a network failure would and reconnects, resuming where it left off.</summary>
    public virtual Task DropAndReconnectAsync() => throw new NotSupportedException($"{GetType().Name} cannot resume");

    private static readonly byte[] TimestampKey = "\"timestamp\":"u8.ToArray();

    /// <summary>
    /// Readings come from devices, not from this tool (scenario f): a message counts when its reading's own time
    /// (<c>timestamp</c>, epoch ms) falls in [<see cref="DeviceWindowStart"/>, <see cref="DeviceWindowEnd"/>), and its
    /// latency is measured from that time.
    /// </summary>
    public static bool FromDevices { get; set; }

    public static long DeviceWindowStart { get; set; } = long.MaxValue;

    public static long DeviceWindowEnd { get; set; } = long.MaxValue;

    /// <summary>How long after its whole-second time this client's device sends a reading (a fleet spread over the second).</summary>
    public long DeviceOffsetMs { get; set; }

    protected void OnMessage(ReadOnlySpan<byte> message, LatencyHistogram latencies)
    {
        var now = DateTime.UtcNow.Ticks;
        if (FromDevices)
        {
            var t = message.IndexOf(TimestampKey);
            if (t >= 0 && Utf8Parser.TryParse(message[(t + TimestampKey.Length)..], out long ms, out _) && ms >= DeviceWindowStart && ms < DeviceWindowEnd)
            {
                Interlocked.Increment(ref _received);
                latencies.Record(DateTime.UnixEpoch.Ticks + ((ms + DeviceOffsetMs) * TimeSpan.TicksPerMillisecond), now);
            }

            return;
        }

        var at = message.IndexOf(PubKey);
        if (at < 0 || !Utf8Parser.TryParse(message[(at + PubKey.Length)..], out long pub, out _))
        {
            return; // protocol messages (hello, acks) and warm-up readings carry no publish time and do not count
        }

        var seqAt = message.IndexOf(SeqKey);
        if (seqAt >= 0 && Utf8Parser.TryParse(message[(seqAt + SeqKey.Length)..], out long seq, out _))
        {
            // One reader per client, so no race on _seen.
            var word = (int)(seq >> 6);
            if (word >= _seen.Length)
            {
                Array.Resize(ref _seen, Math.Max(word + 1, _seen.Length * 2));
            }

            var bit = 1UL << (int)(seq & 63);
            if ((_seen[word] & bit) != 0)
            {
                Interlocked.Increment(ref _duplicates);
                return;
            }

            _seen[word] |= bit;
        }

        Interlocked.Increment(ref _received);
        latencies.Record(pub, now);
    }

    /// <param name="source">The loopback address the client connects from; null: the system's choice.</param>
    public static LoadClient Create(string target, string site, System.Net.IPAddress? source = null) => target switch
    {
        "wattstream-sse" => new SseClient($"/stream/sites/{site}", source),
        "wattstream-ws" => new WsClient("/ws", $$"""{"type":"subscribe","id":"b","subject":"orgs.bench.sites.{{site}}.>"}""", source),
        "node-ws" => new WsClient($"/ws?site={site}", null, source),
        "signalr" => source is null ? new SignalRClient(site) : throw new ArgumentException("signalr clients connect from the system's choice of address"),
        "nats" => new NatsClient(NatsClient.SubjectOf(site), source),
        "wattstream-nats" => new NatsClient($"orgs.bench.sites.{site}.>", source), // the hub's Novacore subjects, through nats-server
        _ => throw new ArgumentException($"unknown target '{target}'"),
    };
}

public sealed class SseClient(string path, System.Net.IPAddress? source = null) : LoadClient
{
    // One client per source address (its handler's connections all leave from that address).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, HttpClient> HttpBySource = new();
    private readonly HttpClient _http = HttpBySource.GetOrAdd(source?.ToString() ?? "", _ => new HttpClient(SourceAddresses.Handler(source)) { Timeout = Timeout.InfiniteTimeSpan });
    private Uri? _uri;
    private HttpResponseMessage? _response;
    private Stream? _stream;
    private CancellationTokenSource? _drop;
    private string? _lastEventId;
    private volatile TaskCompletionSource? _reconnected;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        _uri = new Uri(server, path);
        await OpenAsync(cancellationToken);
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        if (_lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", _lastEventId);
        }

        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        _stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        _drop = new CancellationTokenSource();
        _response = response;
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var parser = SseParser.Create(_stream!, (type, data) => data.ToArray());
                using (var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _drop!.Token))
                {
                    try
                    {
                        await foreach (var item in parser.EnumerateAsync(reading.Token))
                        {
                            _lastEventId = parser.LastEventId;
                            OnMessage(item.Data, latencies);
                        }
                    }
                    catch (Exception e) when (_reconnected is not null && !cancellationToken.IsCancellationRequested && e is IOException or ObjectDisposedException or HttpRequestException or OperationCanceledException)
                    {
                    }
                }

                // The reader reconnects itself, so the Last-Event-ID it sends is exactly the last event it handled.
                if (_reconnected is not { } reconnected)
                {
                    return;
                }

                _drop.Dispose();
                await OpenAsync(cancellationToken);
                _reconnected = null;
                reconnected.SetResult();
            }
        }
        finally
        {
            // A reader that ends without reconnecting (the reconnect failed, or something unexpected was thrown) must
            // not leave the burst waiting for it forever: the run then fails, saying why.
            _reconnected?.TrySetException(new IOException($"an SSE client did not reconnect to {_uri}"));
        }
    }

    public override Task DropAndReconnectAsync()
    {
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _reconnected = reconnected;
        // Cancelling the read is what reliably ends it; disposing the response then closes the connection (no drain:
        // MaxResponseDrainSize is 0), as a network failure would.
        _drop!.Cancel();
        _response!.Dispose();
        return reconnected.Task;
    }
}

public sealed class WsClient(string path, string? subscribe, System.Net.IPAddress? source = null) : LoadClient
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, HttpMessageInvoker> InvokerBySource = new();
    private readonly ClientWebSocket _socket = new();

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        var uri = new UriBuilder(new Uri(server, path)) { Scheme = "ws" }.Uri;
        if (source is null)
        {
            await _socket.ConnectAsync(uri, cancellationToken);
        }
        else
        {
            await _socket.ConnectAsync(uri, InvokerBySource.GetOrAdd(source.ToString(), _ => new HttpMessageInvoker(SourceAddresses.Handler(source))), cancellationToken);
        }

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

public sealed class SignalRClient(string site) : LoadClient
{
    private HubConnection? _connection;
    private LatencyHistogram? _latencies;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        // WebSockets without the negotiate request: one connection per client (with negotiation each client also keeps
        // its negotiate connection open, and 10 000 clients take 20 000 of the server's file descriptors).
        _connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "/hub"), Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
            .Build();
        _connection.On<string>("r", line => OnMessage(Encoding.UTF8.GetBytes(line), _latencies!));
        await _connection.StartAsync(cancellationToken);
        await _connection.InvokeAsync("Join", site, cancellationToken);
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        _latencies = latencies;
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _connection!.DisposeAsync();
    }
}

public sealed class NatsClient(string subject, System.Net.IPAddress? source = null) : LoadClient
{
    private NatsConnection? _nats;

    public static string SubjectOf(string site) => $"bench.sites.{site}";

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        _nats = new NatsConnection(new NatsOpts
        {
            Url = server.ToString(),
            SubPendingChannelCapacity = 1024,
            SocketConnectionFactory = source is null ? null : new SourceAddresses.NatsFactory(source),
        });
        await _nats.ConnectAsync();
    }

    public override async Task RunAsync(LatencyHistogram latencies, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var msg in _nats!.SubscribeAsync<byte[]>(subject, cancellationToken: cancellationToken))
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
