using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// Every DER the hub has seen, with its last value: looked up by subject on every publish, listed in the order first
/// seen, and by site, so a subscription to one site takes its last values without looking at every DER.
/// </summary>
/// <remarks>
/// Not thread-safe: the hub uses it under its publish lock. A readonly struct over its collections, so the hub holds it
/// inline and the publish path's look-up reaches the dictionary as directly as without it; copies share the collections.
/// </remarks>
internal readonly struct LastValues
{
    private readonly Dictionary<string, DerState> _ders = new(StringComparer.Ordinal);
    private readonly List<DerState> _order = [];
    private readonly Dictionary<(string Org, string Site), List<DerState>> _bySite = [];

    public LastValues()
    {
    }

    public int Count => _ders.Count;

    public bool Contains(DerAddress der) => _ders.ContainsKey(der.Subject);

    public bool TryGet(DerAddress der, [MaybeNullWhen(false)] out DerState state) => _ders.TryGetValue(der.Subject, out state);

    /// <summary>Starts keeping a DER the hub has not seen (the caller checked with <see cref="TryGet"/>).</summary>
    public DerState Add(DerAddress address, DerType type, int dedupWindow)
    {
        var der = new DerState(address, type, dedupWindow);
        _ders.Add(address.Subject, der);
        _order.Add(der);
        var site = CollectionsMarshal.GetValueRefOrAddDefault(_bySite, (address.Org, address.Site), out _) ??= [];
        site.Add(der);
        return der;
    }

    /// <summary>The newest event of every DER whose subject matches.</summary>
    public List<HubEvent> Matching(SubjectPattern pattern)
    {
        var result = new List<HubEvent>();
        foreach (var state in _ders.Values)
        {
            if (state.Last is { } last && pattern.Matches(state.Address.Subject))
            {
                result.Add(last);
            }
        }

        return result;
    }

    /// <summary>
    /// A new subscriber's first events: the last value of every DER that matches and passes the filter, in the order
    /// the DERs were first seen.
    /// </summary>
    public HubEvent[] Snapshot(SubjectPattern pattern, Func<HubEvent, bool>? filter)
    {
        var last = new List<HubEvent>();
        var candidates = pattern.LiteralSite is { } site ? _bySite.GetValueOrDefault(site) ?? [] : _order;
        foreach (var der in candidates)
        {
            if (der.Last is { } e && pattern.Matches(e.Subject) && (filter is null || filter(e)))
            {
                last.Add(e);
            }
        }

        return last.ToArray();
    }

    /// <summary>Every DER, in the order first seen.</summary>
    public (DerAddress Address, DerType Type)[] Ders() => _order.Select(d => (d.Address, d.Type)).ToArray();
}
