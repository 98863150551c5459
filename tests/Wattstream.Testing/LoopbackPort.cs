using System.Net;
using System.Net.Sockets;

namespace Wattstream.Testing;

/// <summary>
/// Loopback ports for servers a test starts in processes of their own. A server that can bind port 0 and say which
/// port it got should (nats-server <c>-p -1</c>, the hub's <c>--urls http://127.0.0.1:0</c>); for one that cannot
/// (PostgreSQL, nginx), <see cref="Free"/> is only free at the moment it is asked, so its users retry with a fresh port
/// when the server reports the address in use (<see cref="IsAddressInUse"/>).
/// </summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether a server's output says its port was taken (EADDRINUSE, as nginx, PostgreSQL, nats-server and Kestrel word it).</summary>
    public static bool IsAddressInUse(string output) =>
        output.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
        || output.Contains("address in use", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A loopback port where nothing listens, held for as long as the result is not disposed: bound but not listening,
    /// so a connection to it is refused and no other process can take it meanwhile (a server that is down).
    /// </summary>
    public static Socket Closed(out int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }
}
