namespace Wattstream.Mqtt.Broker;

/// <summary>What the broker refused before any device was known, or that no device can be blamed for.</summary>
public sealed class BrokerCounters
{
    private long _connectionsRefused;
    private long _loginsRefused;
    private long _oversized;

    /// <summary>Connections closed at once because their address had <c>MaxConnectionsPerAddress</c> open.</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    /// <summary>Logins with no user name, an unknown one or a wrong password.</summary>
    public long LoginsRefused => Interlocked.Read(ref _loginsRefused);

    /// <summary>Connections closed on a packet longer than the limit.</summary>
    public long OversizedPackets => Interlocked.Read(ref _oversized);

    internal void ConnectionRefused() => Interlocked.Increment(ref _connectionsRefused);

    internal void LoginRefused() => Interlocked.Increment(ref _loginsRefused);

    internal void Oversized() => Interlocked.Increment(ref _oversized);
}
