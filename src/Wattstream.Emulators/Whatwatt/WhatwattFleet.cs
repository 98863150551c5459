using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Wattstream.Emulators.Whatwatt;

/// <summary>
/// Many whatwatt devices served by one server, each on a port of its own (the hub's whatwatt source addresses a device
/// by host and port, as it would a real one): the load of a neighbourhood of meters without a server per meter. Each
/// device keeps every rule of <see cref="WhatwattEmulator"/> (one live client, authentication, its own meter and id).
/// Loopback only.
/// </summary>
public sealed class WhatwattFleet : IAsyncDisposable
{
    private readonly EmulatedWhatwattDevice[] _devices;
    private readonly int _firstPort;

    private WhatwattFleet(WebApplication app, EmulatedWhatwattDevice[] devices, int firstPort)
    {
        App = app;
        _devices = devices;
        _firstPort = firstPort;
    }

    public WebApplication App { get; }

    public int Count => _devices.Length;

    /// <summary>Device <paramref name="index"/>'s address.</summary>
    public Uri BaseAddressOf(int index) => new($"http://127.0.0.1:{_firstPort + index}/");

    public string MeterNumberOf(int index) => _devices[index].MeterNumber;

    /// <summary>Live streams open now, over all devices.</summary>
    public int ConnectedClients => _devices.Sum(d => d.ConnectedClients);

    public long Takeovers => _devices.Sum(d => d.Takeovers);

    /// <summary>
    /// When device <paramref name="index"/> of <paramref name="devices"/> sends, after each whole second, in a fleet
    /// spread over the second: evenly over the first <see cref="WhatwattEmulatorOptions.MaxWholeSecondOffset"/>, in
    /// whole milliseconds. The load tool's <c>--device-spread</c> counts the same way.
    /// </summary>
    public static TimeSpan SpreadOffset(int index, int devices) =>
        TimeSpan.FromMilliseconds((long)index * (long)WhatwattEmulatorOptions.MaxWholeSecondOffset.TotalMilliseconds / devices);

    /// <summary>
    /// <paramref name="devices"/> devices made from <paramref name="device"/>: device i listens on its port + i, is
    /// simulated site i + 1 (its own meter) and has its own id. A fleet serves clean streams: no faults. With
    /// <paramref name="spreadOverSecond"/> (and <see cref="WhatwattEmulatorOptions.WholeSeconds"/>) device i sends
    /// <see cref="SpreadOffset"/> after each whole second instead of all at once.
    /// </summary>
    public static WhatwattFleet Create(WhatwattEmulatorOptions device, int devices, Action<ILoggingBuilder>? logging = null, bool spreadOverSecond = false)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (spreadOverSecond && !device.WholeSeconds)
        {
            throw new ArgumentException("spreading devices over the second is for devices that report on whole seconds");
        }

        if (devices < 1 || device.Port < 1 || device.Port + devices - 1 > IPEndPoint.MaxPort)
        {
            throw new ArgumentException($"{devices} devices from port {device.Port} do not fit in the port range");
        }

        if (device.Faults.Count > 0)
        {
            throw new ArgumentException("a fleet serves clean streams: faults are for one device");
        }

        var firstPort = device.Port;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            for (var i = 0; i < devices; i++)
            {
                k.Listen(IPAddress.Loopback, firstPort + i);
            }
        });
        if (logging is not null)
        {
            builder.Logging.ClearProviders();
            logging(builder.Logging);
        }

        var members = Enumerable.Range(0, devices).Select(i => new EmulatedWhatwattDevice(
            new WhatwattEmulatorOptions
            {
                Port = firstPort + i,
                BindAddress = device.BindAddress,
                Password = device.Password,
                Auth = device.Auth,
                Qop = device.Qop,
                Interval = device.Interval,
                NonceLifetime = device.NonceLifetime,
                Seed = device.Seed,
                WholeSeconds = device.WholeSeconds,
                WholeSecondOffset = spreadOverSecond ? SpreadOffset(i, devices) : device.WholeSecondOffset,
                SiteNumber = i + 1,
                DeviceId = (0xA842E3000000L + i).ToString("X12", CultureInfo.InvariantCulture),
            },
            TimeProvider.System)).ToArray();
        var app = builder.Build();
        var fleet = new WhatwattFleet(app, members, firstPort);
        WhatwattEmulator.MapDevice(app, context =>
        {
            var index = context.Connection.LocalPort - firstPort;
            return index >= 0 && index < members.Length ? members[index] : null;
        });
        return fleet;
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await App.StartAsync(cancellationToken);
        var stopping = App.Lifetime.ApplicationStopping;
        foreach (var device in _devices)
        {
            _ = Task.Run(() => device.TickAsync(stopping), CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
