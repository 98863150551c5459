using Wattstream.Hub;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Access;

/// <summary>
/// What one caller may see. Every stream the core opens is filtered through the caller's scope, so restricting callers
/// (tokens) changes how a scope is resolved and not each transport or endpoint.
/// </summary>
public sealed class TelemetryScope
{
    private readonly Func<DerAddress, bool>? _canSee;

    private TelemetryScope(string caller, Func<DerAddress, bool>? canSee, IReadOnlySet<string>? orgs, IReadOnlySet<string>? sites)
    {
        Caller = caller;
        _canSee = canSee;
        Orgs = orgs;
        Sites = sites;
    }

    /// <summary>Sees everything (the default while no tokens are configured).</summary>
    public static TelemetryScope Everything { get; } = new("anonymous", null, null, null);

    /// <summary>Sees nothing (a caller with no read grant).</summary>
    public static TelemetryScope Nothing { get; } = new("nobody", _ => false, new HashSet<string>(), new HashSet<string>());

    /// <summary>
    /// Sees the DERs of <paramref name="orgs"/> (null: every org), and within them those of <paramref name="sites"/>
    /// (null: every site).
    /// </summary>
    public static TelemetryScope Granted(string caller, IReadOnlySet<string>? orgs, IReadOnlySet<string>? sites)
    {
        if (orgs is null && sites is null)
        {
            return new TelemetryScope(caller, null, null, null);
        }

        return new TelemetryScope(caller, der => (orgs is null || orgs.Contains(der.Org)) && (sites is null || sites.Contains(der.Site)), orgs, sites);
    }

    /// <summary>Sees what <paramref name="canSee"/> allows (any rule; a subscription is then never refused up front).</summary>
    public static TelemetryScope Restricted(string caller, Func<DerAddress, bool> canSee) => new(caller, canSee, null, null);

    /// <summary>Who the caller is, for logs (never a secret).</summary>
    public string Caller { get; }

    /// <summary>The orgs the caller may see; null for every org.</summary>
    public IReadOnlySet<string>? Orgs { get; }

    /// <summary>The sites the caller may see within its orgs; null for every site.</summary>
    public IReadOnlySet<string>? Sites { get; }

    public bool SeesEverything => _canSee is null;

    public bool CanSee(DerAddress der) => _canSee is null || _canSee(der);

    /// <summary>
    /// Whether the caller may see a feed's item: one about a DER by whoever sees the DER, one about a whole site by whoever
    /// sees the site. The one scope rule of every feed beside the readings.
    /// </summary>
    public bool CanSee(Hub.Feeds.IFeedItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.Der is { } der ? CanSee(der) : CanSeeSite(item.Org, item.Site);
    }

    /// <summary>
    /// Whether the caller may see what concerns a whole site (an alert reported for the site, a rule of it). A scope
    /// restricted by a rule alone (one meter) sees no site as a whole.
    /// </summary>
    public bool CanSeeSite(string org, string site) =>
        _canSee is null
        || ((Orgs is not null || Sites is not null) && (Orgs is null || Orgs.Contains(org)) && (Sites is null || Sites.Contains(site)));

    /// <summary>
    /// Whether a subscription to <paramref name="pattern"/> could deliver anything to this caller: false when every
    /// subject it matches lies outside the caller's orgs and sites (such a subscription is refused, not left silent).
    /// </summary>
    public bool CouldSee(SubjectPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (_canSee is null)
        {
            return true;
        }

        IEnumerable<string?> orgs = Orgs is null ? [null] : Orgs;
        IEnumerable<string?> sites = Sites is null ? [null] : Sites;
        return orgs.Any(org => sites.Any(site => pattern.CouldMatch(["orgs", org, "sites", site])));
    }

    /// <summary>A subscription filter, or null when nothing needs filtering (the hot path then skips the call).</summary>
    public Func<HubEvent, bool>? EventFilter(Func<HubEvent, bool>? also = null)
    {
        if (_canSee is null)
        {
            return also;
        }

        var canSee = _canSee;
        return also is null ? e => canSee(e.Reading.Der) : e => canSee(e.Reading.Der) && also(e);
    }
}
