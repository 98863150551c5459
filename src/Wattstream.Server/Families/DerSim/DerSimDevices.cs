using System.Collections.Concurrent;
using Wattstream.Hub;
using Wattstream.Streaming.Access;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.DerSim;

/// <summary>
/// The hub's non-meter DERs seen as DERSim devices, in the order the hub first saw them. A caller sees them through its
/// scope (<see cref="For"/>): its own devices numbered 0…n−1 (the DERSim <c>device_index</c>), so an index tells it
/// nothing about another org's devices. A scope that sees everything (open mode, a hub admin) numbers every device.
/// </summary>
public sealed class DerSimDevices
{
    private readonly TelemetryHub _hub;
    private readonly Lock _gate = new();
    private readonly List<(DerAddress Address, DerType Type)> _devices = [];
    private readonly HashSet<DerAddress> _known = [];
    private readonly ConcurrentDictionary<string, DerSimView> _views = new(StringComparer.Ordinal);
    private int _seenDers;

    public DerSimDevices(TelemetryHub hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        _hub = hub;
        Everything = new DerSimView(this, null);
    }

    /// <summary>Every device, numbered in the hub's discovery order.</summary>
    public DerSimView Everything { get; }

    /// <summary>
    /// The devices <paramref name="scope"/> sees and their indices, stable for that scope (devices are only ever added,
    /// at the end). Scopes of the same grant share one view, and with it one encoding of each snapshot.
    /// </summary>
    public DerSimView For(TelemetryScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (scope.SeesEverything)
        {
            return Everything;
        }

        if (scope.Orgs is null && scope.Sites is null)
        {
            return new DerSimView(this, scope.CanSee); // a rule of its own: nothing to share it with
        }

        var key = $"{Key(scope.Orgs)}|{Key(scope.Sites)}";
        return _views.GetOrAdd(key, static (_, state) => new DerSimView(state.Devices, state.Scope.CanSee), (Devices: this, Scope: scope));
    }

    private static string Key(IReadOnlySet<string>? names) => names is null ? "*" : string.Join(',', names.Order(StringComparer.Ordinal));

    /// <summary>Copies the devices from position <paramref name="from"/> on into <paramref name="into"/>; returns the new count.</summary>
    internal int CopyFrom(int from, List<(DerAddress Address, DerType Type)> into)
    {
        lock (_gate)
        {
            Sync();
            for (var i = from; i < _devices.Count; i++)
            {
                into.Add(_devices[i]);
            }

            return _devices.Count;
        }
    }

    // Only DERs the hub has seen since the last sync are added.
    private void Sync()
    {
        if (_hub.Counters.Ders == _seenDers)
        {
            return;
        }

        var ders = _hub.Ders;
        for (; _seenDers < ders.Count; _seenDers++)
        {
            var (address, type) = ders[_seenDers];
            if (type != DerType.Meter && _known.Add(address))
            {
                _devices.Add((address, type));
            }
        }
    }
}

/// <summary>
/// The DERSim devices one scope sees, numbered 0…n−1 in the hub's discovery order, and the snapshot payload whose
/// <c>device_index</c> is that number (encoded once per event for every caller of the scope).
/// </summary>
public sealed class DerSimView
{
    private readonly DerSimDevices _all;
    private readonly Func<DerAddress, bool>? _canSee;
    private readonly Lock _gate = new();
    private readonly Dictionary<DerAddress, int> _index = [];
    private readonly List<(DerAddress Address, DerType Type)> _devices = [];
    private readonly List<(DerAddress Address, DerType Type)> _added = [];
    private int _seen;

    internal DerSimView(DerSimDevices all, Func<DerAddress, bool>? canSee)
    {
        _all = all;
        _canSee = canSee;
        Payload = new PayloadFormat(DerSimFamily.Format, e => DerSimOverview.CanWrite(e.Reading.Type), (e, o) => DerSimOverview.Write(e.Reading, o, IndexOf(e.Reading.Der)));
    }

    /// <summary>The overview snapshot with this view's device index: the REST body and each WebSocket message.</summary>
    public PayloadFormat Payload { get; }

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

    /// <summary>The device index of a DER in this view, or -1 when it is not one of the view's devices.</summary>
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

    private void Sync()
    {
        _added.Clear();
        _seen = _all.CopyFrom(_seen, _added);
        foreach (var device in _added)
        {
            if (_canSee is null || _canSee(device.Address))
            {
                _index[device.Address] = _devices.Count;
                _devices.Add(device);
            }
        }
    }
}
