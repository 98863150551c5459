using System.Net;
using System.Net.Sockets;

namespace Wattstream.Testing;

/// <summary>A loopback port free at the moment, for a server process the test starts itself (nginx, PostgreSQL, the hub).</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
