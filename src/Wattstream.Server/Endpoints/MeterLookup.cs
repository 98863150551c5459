using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints;

/// <summary>Finds a meter the hub knows by its meter number (DER id) or device id.</summary>
public sealed class MeterLookup(TelemetryHub hub)
{
    public IEnumerable<DerAddress> Meters => hub.Ders.Where(d => d.Type == DerType.Meter).Select(d => d.Address);

    /// <summary>With no <paramref name="meter"/>, the first meter the hub saw.</summary>
    public bool TryFind(string? meter, out DerAddress address)
    {
        address = string.IsNullOrEmpty(meter)
            ? Meters.FirstOrDefault()!
            : Meters.FirstOrDefault(m => m.Der == meter) ?? Meters.FirstOrDefault(m => m.Device == meter)!;
        return address is not null;
    }
}
