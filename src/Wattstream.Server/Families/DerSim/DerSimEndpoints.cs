using System.Globalization;
using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Transports.WebSockets;
using Wattstream.Streaming.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Server.Families.DerSim;

/// <summary>
/// The DER simulator's API: the overview snapshot over REST and its WebSocket telemetry stream. The hub's PV,
/// battery and EV charger DERs are its devices; a caller sees those of its scope, indexed from 0 in the order the hub
/// first saw them (<see cref="DerSimDevices.For"/>), so an index says nothing about other orgs' devices.
/// </summary>
internal static class DerSimEndpoints
{
    public static void Map(IEndpointRouteBuilder app, string tag)
    {
        var group = app.MapGroup("/api/dersim").WithTags(tag);
        group.MapGet("/overview", Overview)
            .WithSummary("The latest snapshot of one device (default 0)")
            .WithDescription("`metrics` (power_kw, voltage_ln_v, state_of_charge_pct, …), `pq`, `status`, `clock_time`, `dc_mode`, `asset_type`, `device_index`, as DERSim returns it.")
            .Produces<DerSimSnapshot>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/devices", Devices)
            .WithSummary("The latest snapshot of every device")
            .Produces<DerSimSnapshot[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/server-info", ServerInfo)
            .WithSummary("What this server is and how many devices it has")
            .Produces<DerSimServerInfo>();
        group.Map("/ws/telemetry", TelemetryAsync)
            .WithSummary("WebSocket: the cached snapshot at once, then one message per device per tick; `?device=N` filters server-side");
        group.Map("/telemetry/ws", TelemetryAsync)
            .WithSummary("Alias of /api/dersim/ws/telemetry (the name the vendor's pages also use)");
    }

    /// <summary>Parses <c>?device=</c>: absent is null, a non-negative integer is an index, anything else a 400.</summary>
    private static bool TryParseDevice(HttpContext context, out int? device, out IResult? problem)
    {
        device = null;
        problem = null;
        var raw = context.Request.Query["device"].FirstOrDefault();
        if (raw is null)
        {
            return true;
        }

        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            device = index;
            return true;
        }

        problem = Problems.BadRequest("invalid_device", "Malformed device index", $"device must be a 0-based integer index, not '{raw}'.");
        return false;
    }

    private static IResult Overview(HttpContext context, TelemetryHub hub, DerSimFamily family, ITelemetryAccess access)
    {
        if (!TryParseDevice(context, out var device, out var problem))
        {
            return problem!;
        }

        var devices = family.Devices.For(access.Resolve(context));
        var index = device ?? 0;
        if (devices.At(index) is not { } der)
        {
            return UnknownDevice(index, devices);
        }

        if (hub.GetLast(der) is not { } last)
        {
            return Problems.NotFound("no_data", "No snapshot yet", $"Device {index} has not reported yet.");
        }

        return TypedResults.Bytes(last.GetEncoded(devices.Payload).ToArray(), "application/json");
    }

    // Counts only the caller's own devices: the answer is the same whatever other orgs have.
    private static IResult UnknownDevice(int index, DerSimView devices) =>
        Problems.NotFound("device_not_found", "Unknown device", $"No device {index}; there are {devices.Devices.Count} (GET /api/dersim/devices).");

    private static IResult Devices(HttpContext context, TelemetryHub hub, DerSimFamily family, ITelemetryAccess access)
    {
        if (!Paging.TryRead(context, out var offset, out var limit, out var problem))
        {
            return problem!;
        }

        var devices = family.Devices.For(access.Resolve(context));
        var snapshots = devices.Devices
            .Select(d => hub.GetLast(d.Address))
            .OfType<HubEvent>()
            .ToArray();
        var page = Paging.Page(context, snapshots, offset, limit);
        var body = new MemoryStream();
        body.WriteByte((byte)'[');
        for (var i = 0; i < page.Length; i++)
        {
            if (i > 0)
            {
                body.WriteByte((byte)',');
            }

            body.Write(page[i].GetEncoded(devices.Payload).Span);
        }

        body.WriteByte((byte)']');
        return TypedResults.Bytes(body.ToArray(), "application/json");
    }

    private static IResult ServerInfo(HttpContext context, DerSimDevices devices, ITelemetryAccess access) => TypedResults.Ok(new DerSimServerInfo(
        "wattstream",
        typeof(DerSimEndpoints).Assembly.GetName().Version?.ToString() ?? "0",
        devices.For(access.Resolve(context)).Devices.Count,
        ["/api/dersim/ws/telemetry", "/api/dersim/telemetry/ws"]));

    private static async Task<IResult> TelemetryAsync(
        HttpContext context,
        DerSimFamily family,
        ITelemetryAccess access,
        ReadingStreams readings,
        WebSocketStreams webSockets,
        ILoggerFactory loggers)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return Problems.NotAWebSocket(context.Request.Path);
        }

        if (!TryParseDevice(context, out var device, out var problem))
        {
            return problem!;
        }

        var scope = access.Resolve(context);
        var devices = family.Devices.For(scope);
        DerAddress? only = null;
        if (device is { } index && (only = devices.At(index)) is null)
        {
            return UnknownDevice(index, devices);
        }

        // The cached payload at once (each device's latest snapshot), then one message per device per tick.
        var payload = devices.Payload;
        var request = new ReadingStreamRequest(
            only is null ? SubjectPattern.All : SubjectPattern.Parse(only.Subject),
            scope,
            only is null ? payload.CanEncode : e => e.Reading.Der.Equals(only) && payload.CanEncode(e))
        {
            StartWithLastValues = true,
        };
        using var subscription = (await readings.OpenAsync(request, context.RequestAborted)).Subscription;
        using var socket = await webSockets.AcceptAsync(context);
        var log = loggers.CreateLogger("Wattstream.DerSim");
        log.LogInformation("DERSim telemetry client connected ({Filter})", only is null ? "all devices" : $"device {device}");

        var pump = socket.Session.PumpAsync(subscription, e => e.GetEncoded(payload));
        await socket.ReceiveAsync(onText: null);
        subscription.Dispose();
        await pump;
        log.LogInformation("DERSim telemetry client disconnected after {Messages} messages ({Dropped} dropped)", socket.Session.FramesSent, subscription.Dropped);
        return TypedResults.Empty;
    }
}

public sealed record DerSimServerInfo(string Server, string Version, int Devices, string[] TelemetryWebSockets);
