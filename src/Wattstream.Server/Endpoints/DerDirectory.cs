using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Streaming.Access;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// Every DER the server knows, as a caller may see it: those the hub has readings of (in the order first seen), then
/// those a source has declared but not heard from yet, so a client can find a configured meter, connect to it and see
/// its status before its first reading. The one place endpoints look DERs up.
/// </summary>
public sealed class DerDirectory(TelemetryHub hub, StatusBoard statuses)
{
    public IReadOnlyList<(DerAddress Address, DerType Type)> All(TelemetryScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return KnownDers.Of(hub, statuses).Where(d => scope.CanSee(d.Address)).ToArray();
    }

    /// <summary>The orgs that have a site of this id the caller may see (<paramref name="org"/>, when given, or none).</summary>
    public string[] OrgsWithSite(string site, string? org, TelemetryScope scope) =>
        [.. All(scope).Select(d => d.Address).Where(a => a.Site == site && (org is null || a.Org == org)).Select(a => a.Org).Distinct()];

    public IEnumerable<DerAddress> Meters(TelemetryScope scope) => All(scope).Where(d => d.Type == DerType.Meter).Select(d => d.Address);

    /// <summary>
    /// A meter by number (DER id) or device id; with none, the first meter. Otherwise a 404 problem — also for a meter
    /// the caller may not see, which is not told apart from one that does not exist.
    /// </summary>
    public bool TryFindMeter(string? meter, TelemetryScope scope, out DerAddress address, out IResult? problem)
    {
        var meters = Meters(scope).ToArray();
        address = string.IsNullOrEmpty(meter)
            ? meters.FirstOrDefault()!
            : Array.Find(meters, m => m.Der == meter) ?? Array.Find(meters, m => m.Device == meter)!;
        problem = address is not null ? null : Problems.NotFound(
            "meter_not_found",
            "Unknown meter",
            string.IsNullOrEmpty(meter) ? "The hub knows no meter yet." : $"No meter with number or device id '{meter}'. GET /api/meters lists the meters.");
        return address is not null;
    }
}
