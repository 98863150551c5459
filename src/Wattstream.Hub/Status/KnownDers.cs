using Wattstream.Telemetry;

namespace Wattstream.Hub.Status;

/// <summary>
/// Every DER the server knows: those the hub has readings of (in the order first seen), then those only the status
/// board knows (declared by a source, or kept in history by an earlier run).
/// </summary>
public static class KnownDers
{
    public static IEnumerable<(DerAddress Address, DerType Type)> Of(TelemetryHub hub, StatusBoard board)
    {
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(board);
        return hub.Ders
            .Concat(board.Snapshot().Select(s => (Address: s.Der, s.Type)))
            .DistinctBy(d => d.Address);
    }
}
