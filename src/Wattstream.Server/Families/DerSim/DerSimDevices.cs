using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.DerSim;

/// <summary>
/// The hub's non-meter DERs seen as DERSim devices: each gets a stable 0-based index (the DERSim <c>device_index</c>)
/// in the order the hub first saw it.
/// </summary>
public sealed class DerSimDevices(TelemetryHub hub)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<DerAddress, int> _index = [];
    private readonly List<(DerAddress Address, DerType Type)> _devices = [];
    private int _seenDers;

    public IReadOnlyList<(DerAddress Address, DerType Type)> Devices
    {
        get
        {
            lock (_gate)
            {
                Sync();
                return _devices.ToArray();
            }
        }
    }

    /// <summary>The device index of a DER, or -1 when it is not a DERSim device.</summary>
    public int IndexOf(DerAddress der)
    {
        lock (_gate)
        {
            if (!_index.TryGetValue(der, out var index))
            {
                Sync();
                index = _index.GetValueOrDefault(der, -1);
            }

            return index;
        }
    }

    public DerAddress? At(int index)
    {
        lock (_gate)
        {
            Sync();
            return index >= 0 && index < _devices.Count ? _devices[index].Address : null;
        }
    }

    // Indices follow the hub's discovery order; only DERs the hub has seen since the last sync are added.
    private void Sync()
    {
        var ders = hub.Ders;
        for (; _seenDers < ders.Count; _seenDers++)
        {
            var (address, type) = ders[_seenDers];
            if (type != DerType.Meter && _index.TryAdd(address, _devices.Count))
            {
                _devices.Add((address, type));
            }
        }
    }
}
