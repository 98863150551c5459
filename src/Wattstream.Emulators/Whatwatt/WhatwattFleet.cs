using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Wattstream.Emulators.Whatwatt;

/// <summary>What a fleet of whatwatt devices shares; device <c>i</c> listens on <see cref="FirstPort"/> + i.</summary>
public sealed class WhatwattFleetOptions
{
    public int Devices { get; set; } = 10;

    public int FirstPort { get; set; } = 18000;

    /// <summary>Every device's Web UI password; none means no authentication.</summary>
    public string? Password { get; set; }

    public DeviceAuth Auth { get; set; } = DeviceAuth.Digest;

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    public int? Seed { get; set; }

    /// <summary>Every device reports just after whole seconds (<see cref="WhatwattEmulatorOptions.WholeSeconds"/>).</summary>
    public bool WholeSeconds { get; set; }
}

/// <summary>
/// Many whatwatt devices served by one server, each on a port of its own (the hub's whatwatt source addresses a device
/// by host and port, as it would a real one): the load of a neighbourhood of meters without a server per meter. Each
/// device keeps every rule of <see cref="WhatwattEmulator"/> (one live client, authentication, its own meter and id).
/// Loopback only.
/// </summary>
public sealed class WhatwattFleet : IAsyncDisposable
{
    private readonly WhatwattDevice[] _devices;
    private readonly int _firstPort;

    private WhatwattFleet(WebApplication app, WhatwattDevice[] devices, int firstPort)
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

    public static WhatwattFleet Create(WhatwattFleetOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Devices < 1 || options.FirstPort < 1 || options.FirstPort + options.Devices - 1 > IPEndPoint.MaxPort)
        {
            throw new ArgumentException($"{options.Devices} devices from port {options.FirstPort} do not fit in the port range");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            for (var i = 0; i < options.Devices; i++)
            {
                k.Listen(IPAddress.Loopback, options.FirstPort + i);
            }
        });
        if (logging is not null)
        {
            builder.Logging.ClearProviders();
            logging(builder.Logging);
        }

        var devices = Enumerable.Range(0, options.Devices).Select(i => new WhatwattDevice(
            new WhatwattEmulatorOptions
            {
                Port = options.FirstPort + i,
                Password = options.Password,
                Auth = options.Auth,
                Interval = options.Interval,
                Seed = options.Seed,
                SiteNumber = i + 1,
                WholeSeconds = options.WholeSeconds,
                DeviceId = (0xA842E3000000L + i).ToString("X12", CultureInfo.InvariantCulture),
            },
            TimeProvider.System)).ToArray();
        var app = builder.Build();
        var fleet = new WhatwattFleet(app, devices, options.FirstPort);
        WhatwattEmulator.MapDevice(app, context =>
        {
            var index = context.Connection.LocalPort - options.FirstPort;
            return index >= 0 && index < devices.Length ? devices[index] : null;
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
