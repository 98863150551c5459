using System.Net;
using System.Net.Sockets;
using NATS.Client.Core;

namespace Wattstream.LoadTool;

/// <summary>
/// Spreads clients over several loopback source addresses (127.0.0.1, 127.0.0.2, …): one address has about 28 000
/// ephemeral ports towards one server port, so 100 000 connections need four or more. All of 127.0.0.0/8 is loopback on
/// Linux: no set-up is needed to bind to any of them.
/// </summary>
internal static class SourceAddresses
{
    /// <summary>The source address of client <paramref name="client"/> of <paramref name="count"/>; null: the system's choice.</summary>
    public static IPAddress? For(int client, int count) => count <= 1 ? null : new IPAddress([127, 0, 0, (byte)(1 + (client % count))]);

    /// <summary>A TCP connection to <paramref name="host"/>:<paramref name="port"/> from <paramref name="source"/> (loopback only).</summary>
    public static async ValueTask<Socket> ConnectAsync(string host, int port, IPAddress? source, CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(host);
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"load only targets loopback, not {host}");
        }

        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>An HTTP handler whose connections leave from <paramref name="source"/>.</summary>
    public static SocketsHttpHandler Handler(IPAddress? source) => new()
    {
        MaxConnectionsPerServer = int.MaxValue,
        MaxResponseDrainSize = 0,
        ConnectCallback = async (context, cancellationToken) =>
            new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, source, cancellationToken), ownsSocket: true),
    };

    /// <summary>NATS connections from <paramref name="source"/>.</summary>
    public sealed class NatsFactory(IPAddress source) : INatsSocketConnectionFactory
    {
        public async ValueTask<INatsSocketConnection> ConnectAsync(Uri uri, NatsOpts opts, CancellationToken cancellationToken) =>
            new NatsSocket(await SourceAddresses.ConnectAsync(uri.Host, uri.Port, source, cancellationToken));
    }

    private sealed class NatsSocket(Socket socket) : INatsSocketConnection
    {
        public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer) => socket.SendAsync(buffer, SocketFlags.None);

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer) => socket.ReceiveAsync(buffer, SocketFlags.None);

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
