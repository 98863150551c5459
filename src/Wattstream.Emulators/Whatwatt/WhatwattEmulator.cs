using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wattstream.DeviceAuthentication;
using Wattstream.Emulators.Faults;

namespace Wattstream.Emulators.Whatwatt;

/// <summary>
/// A whatwatt Go adapter on a smart meter, with the device's rules: <c>/api/v1/live</c> serves one client (a new
/// connection closes the previous stream), sends no <c>id:</c>, <c>retry:</c> or heartbeats; <c>/api/v1/report</c> and
/// <c>/api/v1/system</c> and <c>/api/v1/settings</c> answer in the documented shapes; Digest or Basic authentication when a password is set.
/// Meter values come from the built-in simulator. <see cref="WhatwattFleet"/> serves many such devices from one server.
/// </summary>
public sealed class WhatwattEmulator : IAsyncDisposable
{
    private readonly EmulatedWhatwattDevice _device;

    private WhatwattEmulator(WebApplication app, EmulatedWhatwattDevice device)
    {
        App = app;
        _device = device;
    }

    public WebApplication App { get; }

    public TimeProvider Time => _device.Time;

    public DeviceAuthVerifier Verifier => _device.Verifier;

    public FaultPlan Faults => _device.Faults;

    /// <summary>How many times a new client took the stream from a connected one.</summary>
    public long Takeovers => _device.Takeovers;

    /// <summary>Live streams open now (0 or 1: the device serves one).</summary>
    public int ConnectedClients => _device.ConnectedClients;

    public Uri BaseAddress => new(App.Urls.First());

    /// <summary>The meter's number, as its readings will name it.</summary>
    public string MeterNumber => _device.MeterNumber;

    public static WhatwattEmulator Create(WhatwattEmulatorOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{(options.BindAddress.Contains(':', StringComparison.Ordinal) ? $"[{options.BindAddress}]" : options.BindAddress)}:{options.Port}");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        if (logging is not null)
        {
            builder.Logging.ClearProviders();
            logging(builder.Logging);
        }

        var app = builder.Build();
        var emulator = new WhatwattEmulator(app, new EmulatedWhatwattDevice(options, TimeProvider.System));
        MapDevice(app, _ => emulator._device);
        return emulator;
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await App.StartAsync(cancellationToken);
        _ = Task.Run(() => _device.TickAsync(App.Lifetime.ApplicationStopping), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>The device API on <paramref name="app"/>, for the device <paramref name="deviceOf"/> picks for a request.</summary>
    internal static void MapDevice(WebApplication app, Func<HttpContext, EmulatedWhatwattDevice?> deviceOf)
    {
        app.Use(async (context, next) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            if (deviceOf(context) is not { } device)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            context.Items[typeof(EmulatedWhatwattDevice)] = device;
            if (await device.Verifier.AuthenticateAsync(context))
            {
                await next(context);
            }
        });
        var stopping = app.Lifetime.ApplicationStopping;
        app.MapGet("/api/v1/live", (HttpContext context) => Of(context).LiveAsync(context, stopping));
        app.MapGet("/api/v1/report", (HttpContext context) => Of(context).ReportResult());
        app.MapGet("/api/v1/system", (HttpContext context) => Of(context).SystemResult());
        app.MapGet("/api/v1/settings", (HttpContext context) => Of(context).SettingsResult());
    }

    private static EmulatedWhatwattDevice Of(HttpContext context) => (EmulatedWhatwattDevice)context.Items[typeof(EmulatedWhatwattDevice)]!;
}
