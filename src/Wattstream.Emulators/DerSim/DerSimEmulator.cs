using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wattstream.Emulators.Faults;
using Wattstream.Simulation;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Emulators.DerSim;

public sealed class DerSimEmulatorOptions
{
    public int Port { get; set; } = 8111;

    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>How many devices (<c>-N</c>): PV systems, batteries and EV chargers taken from simulated sites.</summary>
    public int Devices { get; set; } = 1;

    /// <summary>The simulator tick (DERSim's periodic_time, about 1.5 s).</summary>
    public TimeSpan Tick { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Payloads waiting for a slow client before the oldest is dropped.</summary>
    public int ClientQueue { get; set; } = 32;

    public IReadOnlyList<FaultKind> Faults { get; set; } = [];

    public int FaultEvery { get; set; } = 3;

    public int? Seed { get; set; }
}

/// <summary>
/// The DER simulator's telemetry surface: <c>GET /api/dersim/overview</c> and the WebSocket at
/// <c>/api/dersim/ws/telemetry</c> (and <c>/api/dersim/telemetry/ws</c>): the cached payload on accept, then one payload
/// per device per tick; each client has its own drop-oldest queue; <c>?device=N</c> filters server-side.
/// </summary>
public sealed class DerSimEmulator : IAsyncDisposable
{
    private readonly DerSimEmulatorOptions _options;
    private readonly SiteSimulator _simulator;
    private readonly (DerAddress Address, DerType Type)[] _devices;
    private readonly byte[]?[] _cached;
    private readonly Lock _gate = new();
    private readonly List<Client> _clients = [];
    private readonly ILogger _logger;

    private DerSimEmulator(WebApplication app, DerSimEmulatorOptions options)
    {
        App = app;
        _options = options;
        _logger = app.Services.GetService(typeof(ILoggerFactory)) is ILoggerFactory f ? f.CreateLogger("DerSimEmulator") : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var sites = Math.Max(1, (options.Devices + 1) / 2);
        _simulator = new SiteSimulator(new SimulationOptions { Sites = sites, Seed = options.Seed, EvChargerSites = [1] }, DateTimeOffset.UtcNow);
        _devices = _simulator.Sites.SelectMany(s => s.Ders).Where(d => d.Type != DerType.Meter).Take(options.Devices).ToArray();
        _cached = new byte[]?[_devices.Length];
        Faults = new FaultPlan(options.Faults, options.FaultEvery);
    }

    public WebApplication App { get; }

    public FaultPlan Faults { get; }

    public Uri BaseAddress => new(App.Urls.First());

    public int DeviceCount => _devices.Length;

    public static DerSimEmulator Create(DerSimEmulatorOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{options.BindAddress}:{options.Port}");
        if (logging is not null)
        {
            builder.Logging.ClearProviders();
            logging(builder.Logging);
        }

        var app = builder.Build();
        app.UseWebSockets();
        var emulator = new DerSimEmulator(app, options);
        app.MapGet("/api/dersim/overview", emulator.Overview);
        app.MapGet("/api/dersim/devices", () => Results.Text("[" + string.Join(",", emulator._cached.Where(c => c is not null).Select(c => Encoding.UTF8.GetString(c!))) + "]", "application/json"));
        app.Map("/api/dersim/ws/telemetry", emulator.TelemetryAsync);
        app.Map("/api/dersim/telemetry/ws", emulator.TelemetryAsync);
        return emulator;
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Step(); // a cached payload exists before the first client
        await App.StartAsync(cancellationToken);
        _ = Task.Run(() => TickAsync(App.Lifetime.ApplicationStopping), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    private async Task TickAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.Tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                Step();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Step()
    {
        var readings = _simulator.Step(DateTimeOffset.UtcNow);
        for (var i = 0; i < _devices.Length; i++)
        {
            var reading = readings.First(r => r.Der == _devices[i].Address);
            var payload = DerSimOverview.ToUtf8(reading, i);
            _cached[i] = payload;
            var message = Faults.NextEventFault() switch
            {
                FaultKind.MalformedJson => "{\"metrics\":{\"power_kw\":"u8.ToArray(),
                FaultKind.HugeLine => Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('9', 10 * 1024 * 1024) + "\"}"),
                FaultKind.BadNumbers => Encoding.UTF8.GetBytes("{\"metrics\":{\"power_kw\":\"NaN\",\"frequency_hz\":\"abc\"},\"asset_type\":\"pv\",\"device_index\":" + i.ToString(CultureInfo.InvariantCulture) + "}"),
                FaultKind.UnknownEvent => Encoding.UTF8.GetBytes("{\"asset_type\":\"flux-capacitor\",\"device_index\":" + i.ToString(CultureInfo.InvariantCulture) + "}"),
                _ => payload,
            };
            lock (_gate)
            {
                foreach (var client in _clients)
                {
                    if (client.Device is null || client.Device == i)
                    {
                        client.Queue.Writer.TryWrite(message); // drop-oldest: the loop never waits for a client
                    }
                }
            }
        }
    }

    private IResult Overview(HttpContext context)
    {
        var raw = context.Request.Query["device"].FirstOrDefault();
        var index = 0;
        if (raw is not null && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out index) || index >= _devices.Length))
        {
            return Results.Json(new { detail = $"unknown device '{raw}'" }, statusCode: StatusCodes.Status404NotFound);
        }

        return _cached[index] is { } payload ? Results.Bytes(payload, "application/json") : Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
    }

    private sealed record Client(int? Device, Channel<byte[]> Queue);

    private async Task TelemetryAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        int? device = int.TryParse(context.Request.Query["device"], NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : null;
        var client = new Client(device, Channel.CreateBounded<byte[]>(new BoundedChannelOptions(_options.ClientQueue) { FullMode = BoundedChannelFullMode.DropOldest }));
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        _logger.LogInformation("client connected (device filter: {Device})", device?.ToString(CultureInfo.InvariantCulture) ?? "none");
        lock (_gate)
        {
            for (var i = 0; i < _cached.Length; i++)
            {
                if ((device is null || device == i) && _cached[i] is { } cached)
                {
                    client.Queue.Writer.TryWrite(cached);
                }
            }

            _clients.Add(client);
        }

        var receive = Task.Run(async () =>
        {
            var buffer = new byte[1024];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    var r = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
            }
            catch (WebSocketException)
            {
            }

            client.Queue.Writer.TryComplete();
        });
        try
        {
            await foreach (var message in client.Queue.Reader.ReadAllAsync(App.Lifetime.ApplicationStopping))
            {
                await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            }

            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _clients.Remove(client);
            }

            _logger.LogInformation("client disconnected");
        }

        await receive.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
