using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Server.Access;
using Wattstream.Server.Streaming;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.DerSim;

/// <summary>
/// The DER simulator's API: the overview snapshot over REST and its WebSocket telemetry stream. The hub's PV,
/// battery and EV charger DERs are its devices, indexed from 0 in the order the hub first saw them.
/// </summary>
public static class DerSimEndpoints
{
    public static IEndpointRouteBuilder MapDerSim(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/dersim").WithTags("dersim");
        group.MapGet("/overview", Overview)
            .WithSummary("The latest snapshot of one device (default 0)")
            .WithDescription("`metrics` (power_kw, voltage_ln_v, state_of_charge_pct, …), `pq`, `status`, `clock_time`, `dc_mode`, `asset_type`, `device_index`, as DERSim returns it.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/devices", Devices)
            .WithSummary("The latest snapshot of every device");
        group.MapGet("/server-info", ServerInfo)
            .WithSummary("What this server is and how many devices it has");
        group.Map("/ws/telemetry", TelemetryAsync)
            .WithSummary("WebSocket: the cached snapshot at once, then one message per device per tick; `?device=N` filters server-side");
        group.Map("/telemetry/ws", TelemetryAsync)
            .WithSummary("Alias of /api/dersim/ws/telemetry (the name the vendor's pages also use)");
        return app;
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

    private static IResult Overview(HttpContext context, TelemetryHub hub, DerSimDevices devices, ITelemetryAccess access, WireFormats formats)
    {
        if (!TryParseDevice(context, out var device, out var problem))
        {
            return problem!;
        }

        var index = device ?? 0;
        if (devices.At(index) is not { } der || !access.Resolve(context).CanSee(der))
        {
            return Problems.NotFound("device_not_found", "Unknown device", $"No device {index}; there are {devices.Devices.Count} (GET /api/dersim/devices).");
        }

        if (hub.GetLast(der) is not { } last)
        {
            return Problems.NotFound("no_data", "No snapshot yet", $"Device {index} has not reported yet.");
        }

        return TypedResults.Bytes(last.GetEncoded(formats.DerSimJson).ToArray(), "application/json");
    }

    private static IResult Devices(HttpContext context, TelemetryHub hub, DerSimDevices devices, ITelemetryAccess access, WireFormats formats)
    {
        var scope = access.Resolve(context);
        var body = new StringBuilder("[");
        foreach (var (der, _) in devices.Devices)
        {
            if (scope.CanSee(der) && hub.GetLast(der) is { } last)
            {
                if (body.Length > 1)
                {
                    body.Append(',');
                }

                body.Append(Encoding.UTF8.GetString(last.GetEncoded(formats.DerSimJson).Span));
            }
        }

        return TypedResults.Text(body.Append(']').ToString(), "application/json");
    }

    private static IResult ServerInfo(DerSimDevices devices, IOptions<WebSocketStreamingOptions> options) => TypedResults.Ok(new DerSimServerInfo(
        "wattstream",
        typeof(DerSimEndpoints).Assembly.GetName().Version?.ToString() ?? "0",
        devices.Devices.Count,
        ["/api/dersim/ws/telemetry", "/api/dersim/telemetry/ws"]));

    private static async Task<IResult> TelemetryAsync(
        HttpContext context,
        TelemetryHub hub,
        DerSimDevices devices,
        ITelemetryAccess access,
        WireFormats formats,
        WebSocketSupervisor supervisor,
        IOptions<WebSocketStreamingOptions> options,
        IHostApplicationLifetime lifetime,
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

        DerAddress? only = null;
        if (device is { } index && (only = devices.At(index)) is null)
        {
            return Problems.NotFound("device_not_found", "Unknown device", $"No device {index}; there are {devices.Devices.Count}.");
        }

        var scope = access.Resolve(context);
        var encoder = formats.DerSimJson;
        Func<HubEvent, bool> filter = only is null ? encoder.CanEncode : e => e.Reading.Der.Equals(only);
        using var subscription = hub.Subscribe(only is null ? SubjectPattern.All : SubjectPattern.Parse(only.Subject), new SubscribeOptions
        {
            QueueCapacity = options.Value.QueueCapacity,
            Filter = scope.EventFilter(filter),
        });

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var session = new WebSocketSession(socket, context, options.Value);
        session.WatchDrops(() => subscription.Dropped);
        using var tracked = supervisor.Track(session);
        var log = loggers.CreateLogger("Wattstream.DerSim");
        log.LogInformation("DERSim telemetry client connected ({Filter})", only is null ? "all devices" : $"device {device}");

        // The cached payload at once: each device's latest snapshot (subscribed first, so nothing falls between).
        var sentAtConnect = new HashSet<long>();
        IEnumerable<DerAddress> connectDevices = only is null ? devices.Devices.Select(d => d.Address) : [only];
        foreach (var der in connectDevices)
        {
            if (scope.CanSee(der) && hub.GetLast(der) is { } last && encoder.CanEncode(last))
            {
                sentAtConnect.Add(last.Id);
                await session.SendAsync(last.GetEncoded(encoder));
            }
        }

        var pump = session.PumpAsync(subscription, e => sentAtConnect.Contains(e.Id) ? ReadOnlyMemory<byte>.Empty : e.GetEncoded(encoder));
        await session.ReceiveAsync(onText: null, lifetime.ApplicationStopping);
        subscription.Dispose();
        await pump;
        log.LogInformation("DERSim telemetry client disconnected after {Messages} messages ({Dropped} dropped)", session.MessagesSent, subscription.Dropped);
        return TypedResults.Empty;
    }
}

public sealed record DerSimServerInfo(string Server, string Version, int Devices, string[] TelemetryWebSockets);
