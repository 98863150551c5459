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

    private TelemetryScope(string caller, Func<DerAddress, bool>? canSee)
    {
        Caller = caller;
        _canSee = canSee;
    }

    /// <summary>Sees everything (the default while no tokens are configured).</summary>
    public static TelemetryScope Everything { get; } = new("anonymous", null);

    public static TelemetryScope Restricted(string caller, Func<DerAddress, bool> canSee) => new(caller, canSee);

    /// <summary>Who the caller is, for logs (never a secret).</summary>
    public string Caller { get; }

    public bool SeesEverything => _canSee is null;

    public bool CanSee(DerAddress der) => _canSee is null || _canSee(der);

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
