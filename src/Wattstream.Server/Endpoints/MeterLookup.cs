using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// Finds a meter by its meter number (DER id) or device id: the meters the hub has readings of, and those a source
/// has declared but not yet heard from (so a client can connect, and see its status, before the first reading).
/// </summary>
public sealed class MeterLookup(TelemetryHub hub, StatusBoard statuses)
{
    public IEnumerable<DerAddress> Meters => hub.Ders.Where(d => d.Type == DerType.Meter).Select(d => d.Address)
        .Concat(statuses.Snapshot().Where(s => s.Type == DerType.Meter).Select(s => s.Der))
        .Distinct();

    /// <summary>With no <paramref name="meter"/>, the first meter the hub saw.</summary>
    public bool TryFind(string? meter, out DerAddress address)
    {
        var meters = Meters.ToArray();
        address = string.IsNullOrEmpty(meter)
            ? meters.FirstOrDefault()!
            : Array.Find(meters, m => m.Der == meter) ?? Array.Find(meters, m => m.Device == meter)!;
        return address is not null;
    }

    /// <summary>The meter, or a 404 problem naming what was asked for.</summary>
    public bool TryFind(string? meter, out DerAddress address, out IResult? problem)
    {
        problem = null;
        if (TryFind(meter, out address))
        {
            return true;
        }

        problem = Problems.NotFound(
            "meter_not_found",
            "Unknown meter",
            string.IsNullOrEmpty(meter) ? "The hub knows no meter yet." : $"No meter with number or device id '{meter}'. GET /api/meters lists the meters.");
        return false;
    }
}
