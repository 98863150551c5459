using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.Sse;

namespace Wattstream.Server.Families.Whatwatt;

/// <summary>
/// The whatwatt Go device's API, served for every meter the hub knows and to any number of clients. A meter is chosen
/// with <c>?meter=</c> (meter number or device id), or by prefixing the device's paths with <c>/meters/{meter}</c> so a
/// tool configured with a device's base URL works unchanged.
/// </summary>
internal static class WhatwattEndpoints
{
    public static void Map(IEndpointRouteBuilder app, string tag)
    {
        foreach (var prefix in new[] { "", "/meters/{meter}" })
        {
            var group = app.MapGroup(prefix).WithTags(tag);
            group.MapGet("/api/v1/live", LiveAsync)
                .WithSummary("Live meter values, as the whatwatt Go device streams them")
                .WithDescription("SSE: `event: live`, `data:` one line of flat JSON (P_In, P_Out in kW, V_P1 in V, E_In in kWh, …). Unlike the device, any number of clients may connect. Resume with `Last-Event-ID`.")
                .Produces<WhatwattLiveData>(StatusCodes.Status200OK, OpenApiSetup.EventStream)
                .ProducesProblem(StatusCodes.Status400BadRequest)
                .ProducesProblem(StatusCodes.Status404NotFound);
            group.MapGet("/api/v1/report", Report)
                .WithSummary("The latest report of a meter, in the device's report shape")
                .Produces<WhatwattReportDocument>()
                .ProducesProblem(StatusCodes.Status404NotFound);
            group.MapGet("/api/v1/system", System)
                .WithSummary("The adapter's system information, in the device's shape")
                .Produces<WhatwattSystemDocument>()
                .ProducesProblem(StatusCodes.Status404NotFound);
            group.MapGet("/api/v1/settings", Settings)
                .WithSummary("The adapter's settings, in the device's shape (read-only here)")
                .WithDescription("`system.protection` is true when the device password (`Auth:Device:Password`) is set; `system.host_name` is the meter's host name, the Digest realm. The password is never shown.")
                .Produces<WhatwattSettingsDocument>()
                .ProducesProblem(StatusCodes.Status404NotFound);
        }
    }

    private static async Task<IResult> LiveAsync(HttpContext context, string? meter, DerDirectory ders, ITelemetryAccess access, WhatwattFamily family, SseStreams sse)
    {
        var scope = access.Resolve(context);
        if (!ders.TryFindMeter(meter, scope, out var address, out var problem))
        {
            return problem!;
        }

        return await sse.StreamReadingsAsync(context, SubjectPattern.Parse(address.Subject), scope, family.LiveSse);
    }

    private static IResult Report(HttpContext context, string? meter, DerDirectory ders, ITelemetryAccess access, TelemetryHub hub, WhatwattDeviceView device)
    {
        if (!ders.TryFindMeter(meter, access.Resolve(context), out var address, out var problem))
        {
            return problem!;
        }

        if (hub.GetLast(address) is not { } last)
        {
            return Problems.NotFound("no_data", "No report yet", $"Meter '{address.Der}' has not reported yet.");
        }

        return JsonNoStore(context, device.Report(last, hub.ObservedInterval(address)));
    }

    private static IResult System(HttpContext context, string? meter, DerDirectory ders, ITelemetryAccess access, TelemetryHub hub, WhatwattDeviceView device)
    {
        if (!ders.TryFindMeter(meter, access.Resolve(context), out var address, out var problem))
        {
            return problem!;
        }

        return JsonNoStore(context, device.System(address, hub.GetLast(address), hub.ObservedInterval(address)));
    }

    private static IResult Settings(HttpContext context, string? meter, DerDirectory ders, ITelemetryAccess access, IOptions<AuthOptions> auth)
    {
        if (!ders.TryFindMeter(meter, access.Resolve(context), out var address, out var problem))
        {
            return problem!;
        }

        // The hub announces nothing over mDNS: broadcast is off.
        return JsonNoStore(context, DeviceSettings.ToJson(WhatwattDeviceView.HostName(address), protection: auth.Value.Device.Password is not null, broadcast: false));
    }

    // The device answers JSON with Cache-Control: no-store.
    private static IResult JsonNoStore(HttpContext context, JsonObject body)
    {
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Text(body.ToJsonString(), "application/json; charset=utf-8");
    }
}
