using System.Runtime.InteropServices;
using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// The hub's limits on what it keeps track of: DERs in all (<see cref="HubOptions.MaxDers"/>), and DERs and sites per
/// organisation (<see cref="HubOptions.MaxDersPerOrg"/>, <see cref="HubOptions.MaxSitesPerOrg"/>). A refusal is the
/// limit's description, naming the setting; an admitted DER counts against them for the rest of the run.
/// </summary>
/// <remarks>Not thread-safe: the hub uses it under its publish lock.</remarks>
internal sealed class OrgQuotas(HubOptions options)
{
    private readonly Dictionary<string, OrgUsage> _orgs = new(StringComparer.Ordinal);
    private int _ders;

    /// <summary>
    /// Counts a DER the hub has not seen against the limits, or says which limit it would pass (then it is not counted).
    /// </summary>
    public string? Admit(DerAddress der)
    {
        if (LimitReached(der.Org, newDers: 1, newDersOfOrg: 1, newSitesOfOrg: IsNewSite(der) ? 1 : 0) is { } limit)
        {
            return limit;
        }

        var org = CollectionsMarshal.GetValueRefOrAddDefault(_orgs, der.Org, out _) ??= new OrgUsage();
        org.Ders++;
        org.Sites.Add(der.Site);
        _ders++;
        return null;
    }

    /// <summary>
    /// Whether admitting all of <paramref name="newDers"/> (DERs the hub has not seen; repeats count once) would pass a
    /// limit: the first limit passed, or null. Counts nothing.
    /// </summary>
    public string? Check(IEnumerable<DerAddress> newDers)
    {
        var added = new HashSet<string>(StringComparer.Ordinal);
        var addedPerOrg = new Dictionary<string, (int Ders, HashSet<string> Sites)>(StringComparer.Ordinal);
        foreach (var der in newDers)
        {
            if (!added.Add(der.Subject))
            {
                continue;
            }

            ref var org = ref CollectionsMarshal.GetValueRefOrAddDefault(addedPerOrg, der.Org, out var exists);
            if (!exists)
            {
                org = (0, new HashSet<string>(StringComparer.Ordinal));
            }

            org.Ders++;
            if (IsNewSite(der))
            {
                org.Sites.Add(der.Site);
            }

            if (LimitReached(der.Org, added.Count, org.Ders, org.Sites.Count) is { } limit)
            {
                return limit;
            }
        }

        return null;
    }

    // Would adding these new DERs in all, and these new DERs and sites to the org, pass a limit?
    private string? LimitReached(string org, int newDers, int newDersOfOrg, int newSitesOfOrg)
    {
        var usage = _orgs.GetValueOrDefault(org);
        if (_ders + newDers > options.MaxDers)
        {
            return $"the hub keeps at most {options.MaxDers} DERs (Hub:MaxDers)";
        }

        if ((usage?.Ders ?? 0) + newDersOfOrg > options.MaxDersPerOrg)
        {
            return $"organisation '{org}' may have at most {options.MaxDersPerOrg} DERs (Hub:MaxDersPerOrg)";
        }

        return (usage?.Sites.Count ?? 0) + newSitesOfOrg > options.MaxSitesPerOrg
            ? $"organisation '{org}' may have at most {options.MaxSitesPerOrg} sites (Hub:MaxSitesPerOrg)"
            : null;
    }

    private bool IsNewSite(DerAddress der) => !(_orgs.GetValueOrDefault(der.Org)?.Sites.Contains(der.Site) ?? false);

    private sealed class OrgUsage
    {
        public int Ders { get; set; }

        public HashSet<string> Sites { get; } = new(StringComparer.Ordinal);
    }
}
