using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.General;

/// <summary>What the hub knows: sites with their devices and DERs, and the meters with their status.</summary>
internal static class DiscoveryEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api").WithTags("discovery");
        group.MapGet("/sites", Sites)
            .WithSummary("Every site the caller may see, with its devices and their DERs (ids, types, subjects); paged with ?limit= and ?offset=; ?site= and ?org= keep only that site or org")
            .Produces<SiteInfo[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/meters", Meters)
            .WithSummary("Every meter with its status and when it was last seen; paged with ?limit= and ?offset=")
            .Produces<MeterInfo[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }

    private static IResult Sites(HttpContext context, DerDirectory ders, ITelemetryAccess access)
    {
        if (!Paging.TryRead(context, out var offset, out var limit, out var problem))
        {
            return problem!;
        }

        // A filter finds one site among any number without paging through them (the dashboard's deep links do).
        var org = context.Request.Query["org"].FirstOrDefault();
        var site = context.Request.Query["site"].FirstOrDefault();
        if ((org is not null && !Problems.TryValidateId(org, "org id", out problem)) || (site is not null && !Problems.TryValidateId(site, "site id", out problem)))
        {
            return problem!;
        }

        var sites = ders.All(access.Resolve(context))
            .Where(d => (org is null || d.Address.Org == org) && (site is null || d.Address.Site == site))
            .GroupBy(d => (d.Address.Org, d.Address.Site))
            .Select(found => new SiteInfo(
                found.Key.Org,
                found.Key.Site,
                $"orgs.{found.Key.Org}.sites.{found.Key.Site}.devices.*.ders.*.{Subjects.TelemetrySuffix}",
                found.GroupBy(d => d.Address.Device)
                    .Select(device => new DeviceInfo(
                        device.Key,
                        device.Select(d => new DerInfo(d.Address.Der, d.Type.ToWireName(), d.Address.Subject)).ToArray()))
                    .ToArray()))
            .ToArray();
        return TypedResults.Ok(Paging.Page(context, sites, offset, limit));
    }

    private static IResult Meters(HttpContext context, DerDirectory ders, StatusBoard board, ITelemetryAccess access)
    {
        if (!Paging.TryRead(context, out var offset, out var limit, out var problem))
        {
            return problem!;
        }

        var meters = ders.Meters(access.Resolve(context))
            .Select(address =>
            {
                var status = board.Get(address);
                return new MeterInfo(
                    address.Der,
                    address.Org,
                    address.Site,
                    address.Device,
                    address.Subject,
                    (status?.Status ?? ConnectionStatus.Unknown).ToWireName(),
                    status?.LastSeen is { } seen ? WireTime.Format(seen) : null);
            })
            .ToArray();
        return TypedResults.Ok(Paging.Page(context, meters, offset, limit));
    }
}

public sealed record SiteInfo(string Org, string Site, string Subject, DeviceInfo[] Devices);

public sealed record DeviceInfo(string Device, DerInfo[] Ders);

public sealed record DerInfo(string Der, string Type, string Subject);

public sealed record MeterInfo(string MeterNo, string Org, string Site, string Device, string Subject, string Status, string? LastSeen);
