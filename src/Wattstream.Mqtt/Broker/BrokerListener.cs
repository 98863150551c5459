using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Server;
using Wattstream.Telemetry;

namespace Wattstream.Mqtt.Broker;

/// <summary>
/// The broker's TCP (or TLS) listener, in place of MQTTnet's own so that the limits hold before MQTTnet reads a byte:
/// connections beyond <c>MaxConnectionsPerAddress</c> from one address are closed at once, the TLS handshake has a
/// time bound, and a packet longer than the limit ends its connection (<see cref="PacketSizeLimit"/>).
/// </summary>
internal sealed class BrokerListener(IPEndPoint endpoint, X509Certificate2? certificate, int maxPerAddress, int maxPacketBytes, BrokerCounters counters, ILogger log, TimeProvider time) : IMqttServerAdapter
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();
    private readonly RateLimitedLog _faults = new(log, time, TimeSpan.FromMinutes(1));
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;
    private IMqttNetLogger _logger = MqttNetNullLogger.Instance;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>The address and port bound (the port the system chose for port 0).</summary>
    public IPEndPoint? Bound { get; private set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _logger = logger;
        _listener = new TcpListener(endpoint);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            _listener.Server.DualMode = true; // [::] is every address, IPv4 too
        }

        _listener.Start(100);
        Bound = (IPEndPoint)_listener.LocalEndpoint;
        _accepting = Task.Run(() => AcceptAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        _listener?.Stop();
        await _accepting;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _listener?.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptSocketAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                _faults.Warn("accept", $"MQTT broker: accepting a connection failed: {e.Message}");
                continue;
            }

            _ = Task.Run(() => HandleAsync(socket, stopping), CancellationToken.None);
        }
    }

    private async Task HandleAsync(Socket socket, CancellationToken stopping)
    {
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        var open = _open.AddOrUpdate(address, 1, (_, n) => n + 1);
        try
        {
            if (open > maxPerAddress)
            {
                counters.ConnectionRefused();
                _faults.Warn("per_address", $"MQTT broker: closed a connection from {address}: it has {maxPerAddress} open already (Mqtt:MaxConnectionsPerAddress)");
                socket.Dispose();
                return;
            }

            socket.NoDelay = true;
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (certificate is not null)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                handshake.CancelAfter(HandshakeTimeout);
                try
                {
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate, ClientCertificateRequired = false }, handshake.Token);
                }
                catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
                {
                    _faults.Warn("tls", $"MQTT broker: the TLS handshake with {address} failed: {e.Message}");
                    await tls.DisposeAsync();
                    return;
                }

                stream = tls;
            }

            var limited = new PacketSizeLimit(stream, maxPacketBytes, length =>
            {
                counters.Oversized();
                _faults.Warn("oversized", $"MQTT broker: closed the connection of {address}: a packet of {length} bytes (at most {maxPacketBytes}: Mqtt:MaxMessageBytes + 4 KiB)");
            });
            var channel = new MqttTcpChannel(limited, Bound, remote, null);
            using var adapter = new MqttChannelAdapter(channel, new MqttPacketFormatterAdapter(new MqttBufferWriter(4096, 65535)), _logger);
            if (ClientHandler is { } handle)
            {
                await handle(adapter);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The device went away; MQTTnet has said what it needed to.
        }
        finally
        {
            if (_open.AddOrUpdate(address, 0, (_, n) => n - 1) <= 0)
            {
                _open.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
            }
        }
    }
}
