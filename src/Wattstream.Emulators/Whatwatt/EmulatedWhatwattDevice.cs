using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Wattstream.DeviceAuthentication;
using Wattstream.Emulators.Faults;
using Wattstream.Simulation;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Emulators.Whatwatt;

/// <summary>
/// One emulated whatwatt Go adapter: its meter, its one live client, its authentication and faults. A host maps its
/// routes (<see cref="WhatwattEmulator"/>: one device per server; <see cref="WhatwattFleet"/>: many, one per port).
/// </summary>
internal sealed class EmulatedWhatwattDevice
{

    private readonly WhatwattEmulatorOptions _options;
    private readonly SimulatedSite _site;
    private readonly Lock _gate = new();
    private readonly DateTimeOffset _boot;
    private readonly string _bootId = Guid.NewGuid().ToString("N")[..16];
    private CancellationTokenSource? _currentClient;
    private ReadingPayload? _latest;
    private long _reportId;
    private long _takeovers;
    private int _clients;

    public EmulatedWhatwattDevice(WhatwattEmulatorOptions options, TimeProvider time)
    {
        if (options.WholeSecondOffset < TimeSpan.Zero || options.WholeSecondOffset > WhatwattEmulatorOptions.MaxWholeSecondOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.WholeSecondOffset, $"WholeSecondOffset must be between 0 and {WhatwattEmulatorOptions.MaxWholeSecondOffset.TotalMilliseconds} ms");
        }

        _options = options;
        Time = time;
        _boot = time.GetUtcNow();
        var simulation = new SimulationOptions { Sites = 1, Seed = options.Seed, EvChargerSites = [] };
        // Site n of the simulator, seeded as the simulator seeds it: a fleet's devices are different meters.
        var seed = options.Seed ?? Random.Shared.Next();
        _site = new SimulatedSite(simulation, options.SiteNumber, new Random(unchecked((seed * 7919) + options.SiteNumber)), _boot);
        Verifier = new DeviceAuthVerifier(
            options.Password is null ? null : new DeviceCredentials(options.Password, options.HostName, options.Auth == DeviceAuth.Digest, options.Auth == DeviceAuth.Basic, options.NonceLifetime) { Qop = options.Qop },
            time);
        Faults = new FaultPlan(options.Faults, options.FaultEvery);
    }

    public TimeProvider Time { get; }

    public DeviceAuthVerifier Verifier { get; }

    public FaultPlan Faults { get; }

    /// <summary>How many times a new client took the stream from a connected one.</summary>
    public long Takeovers => Interlocked.Read(ref _takeovers);

    /// <summary>How many readings the meter has made since the device started.</summary>
    public long Readings => Interlocked.Read(ref _reportId);

    /// <summary>Live streams open now (0 or 1: the device serves one).</summary>
    public int ConnectedClients => Volatile.Read(ref _clients);

    /// <summary>The meter's number, as its readings will name it.</summary>
    public string MeterNumber => _site.MeterNumber;

    private sealed record ReadingPayload(Reading Reading, byte[] Json, long Id);

    public WhatwattEmulatorOptions Options => _options;

    /// <summary>The device's routes, for a host to map (authentication is the host's middleware: <see cref="Verifier"/>).</summary>
    public IResult ReportResult() => _latest is { } latest
        ? Json(Report(latest))
        : Error(StatusCodes.Status503ServiceUnavailable, "no_data", "The meter has not reported yet.");

    public IResult SystemResult() => Json(System());

    public IResult SettingsResult() => Json(DeviceSettings.ToJson(_options.HostName, protection: _options.Password is not null, broadcast: true));

    /// <summary>Makes a reading every interval until <paramref name="stopping"/>.</summary>
    public async Task TickAsync(CancellationToken stopping)
    {
        if (_options.WholeSeconds)
        {
            await TickOnWholeSecondsAsync(stopping);
            return;
        }

        using var timer = new PeriodicTimer(_options.Interval, Time);
        do
        {
            Tick();
        }
        while (await WaitAsync(timer, stopping));
    }

    // Readings just after each whole second, or a fixed offset after it (every interval, rounded up to whole seconds):
    // the device's clock in the payload has whole seconds, so a reading's send time is then its time plus the offset,
    // to within the timer's slack. For timing readings end to end (bench/run.sh scenario f).
    private async Task TickOnWholeSecondsAsync(CancellationToken stopping)
    {
        var step = Math.Max(1000, (long)Math.Ceiling(_options.Interval.TotalSeconds) * 1000);
        var offset = (long)_options.WholeSecondOffset.TotalMilliseconds;
        var last = long.MinValue;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // Wait for the next boundary (plus the offset), and again if the timer woke a little before it (its
                // clock is not the wall clock): one reading per boundary, never two in one second. Times are counted
                // from the offset, so the boundary is a whole multiple of the step.
                var now = Time.GetUtcNow().ToUnixTimeMilliseconds() - offset;
                do
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(step - (now % step)), Time, stopping);
                    now = Time.GetUtcNow().ToUnixTimeMilliseconds() - offset;
                }
                while (now % step > step / 2 || now / step <= last / step);

                last = now;
                Tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Tick()
    {
        var reading = _site.Step(Time.GetUtcNow(), _options.Interval).First(r => r.Type == DerType.Meter);
        var payload = new ReadingPayload(reading, WhatwattLive.ToUtf8(reading), Interlocked.Increment(ref _reportId));
        Volatile.Write(ref _latest, payload);
        lock (_gate)
        {
            _tick?.TrySetResult(payload);
            _tick = new TaskCompletionSource<ReadingPayload>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private TaskCompletionSource<ReadingPayload>? _tick = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private Task<ReadingPayload> NextTick()
    {
        lock (_gate)
        {
            return _tick!.Task;
        }
    }

    /// <summary><c>/api/v1/live</c>: one client at a time, until it goes, is taken over, or <paramref name="stopping"/>.</summary>
    public async Task LiveAsync(HttpContext context, CancellationToken stopping)
    {
        switch (Faults.NextConnectionFault())
        {
            case FaultKind.Http500:
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("internal error", context.RequestAborted);
                return;
            case FaultKind.Http503:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync("busy", context.RequestAborted);
                return;
        }

        // One client at a time: this connection takes the stream from the previous one.
        using var mine = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        lock (_gate)
        {
            if (_currentClient is not null)
            {
                _currentClient.Cancel();
                Interlocked.Increment(ref _takeovers);
            }

            _currentClient = mine;
        }

        Interlocked.Increment(ref _clients);
        try
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.FlushAsync(mine.Token);
            while (!mine.IsCancellationRequested)
            {
                var payload = await NextTick().WaitAsync(mine.Token);
                if (!await WriteEventAsync(context, payload, mine.Token))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Taken over, client gone, or shutting down: end the response.
        }
        finally
        {
            Interlocked.Decrement(ref _clients);
            lock (_gate)
            {
                if (ReferenceEquals(_currentClient, mine))
                {
                    _currentClient = null;
                }
            }
        }
    }

    // False when the stream was cut on purpose.
    private async Task<bool> WriteEventAsync(HttpContext context, ReadingPayload payload, CancellationToken token)
    {
        var body = context.Response.Body;
        switch (Faults.NextEventFault())
        {
            case FaultKind.MalformedJson:
                await body.WriteAsync("event: live\ndata: {\"P_In\":0.5,\"P_Out\":\n\n"u8.ToArray(), token);
                break;
            case FaultKind.HugeLine:
                await body.WriteAsync("event: live\ndata: {\"P_In\":\""u8.ToArray(), token);
                var chunk = new byte[64 * 1024];
                Array.Fill(chunk, (byte)'9');
                for (var written = 0; written < 10 * 1024 * 1024; written += chunk.Length)
                {
                    await body.WriteAsync(chunk, token);
                }

                await body.WriteAsync("\"}\n\n"u8.ToArray(), token);
                break;
            case FaultKind.BadNumbers:
                await body.WriteAsync("event: live\ndata: {\"P_In\":NaN,\"P_Out\":\"0.1\",\"V_P1\":\"abc\"}\n\n"u8.ToArray(), token);
                break;
            case FaultKind.UnknownEvent:
                await body.WriteAsync(Encoding.UTF8.GetBytes($"event: diagnostics\ndata: {{\"heap\":12345}}\n\n"), token);
                break;
            case FaultKind.CutMidEvent:
                await body.WriteAsync(Encoding.UTF8.GetBytes($"event: live\ndata: {Encoding.UTF8.GetString(payload.Json)[..20]}"), token);
                await body.FlushAsync(token);
                context.Abort();
                return false;
            case FaultKind.SlowDrip:
                var frame = Encoding.UTF8.GetBytes($"event: live\ndata: {Encoding.UTF8.GetString(payload.Json)}\n\n");
                for (var i = 0; i < frame.Length; i += 16)
                {
                    await body.WriteAsync(frame.AsMemory(i, Math.Min(16, frame.Length - i)), token);
                    await body.FlushAsync(token);
                    await Task.Delay(5, token);
                }

                return true;
            default:
                await body.WriteAsync("event: live\ndata: "u8.ToArray(), token);
                await body.WriteAsync(payload.Json, token);
                await body.WriteAsync("\n\n"u8.ToArray(), token);
                break;
        }

        await body.FlushAsync(token);
        return true;
    }

    private static IResult Json(JsonObject body) => Results.Text(body.ToJsonString(), "application/json; charset=utf-8");

    private static IResult Error(int status, string error, string message) =>
        Results.Text(new JsonObject { ["error"] = error, ["message"] = message, ["details"] = new JsonObject() }.ToJsonString(), "application/json; charset=utf-8", statusCode: status);

    private JsonObject Report(ReadingPayload latest) => new()
    {
        ["report"] = WhatwattReport.ToReportObject(latest.Reading, latest.Id, _options.Interval),
        ["meter"] = new JsonObject { ["status"] = "OK", ["interface"] = "P1", ["protocol"] = "DSMR", ["id"] = _site.MeterNumber, ["model"] = "EMU3", ["vendor"] = "Wattstream" },
        ["system"] = SystemSummary(),
    };

    private JsonObject SystemSummary() => new()
    {
        ["id"] = _options.DeviceId,
        ["boot_id"] = _bootId,
        ["time_since_boot"] = (long)(Time.GetUtcNow() - _boot).TotalSeconds,
    };

    private JsonObject System() => new()
    {
        ["device"] = new JsonObject
        {
            ["name"] = _options.HostName,
            ["id"] = _options.DeviceId,
            ["model"] = "WW_Go_1.2",
            ["firmware"] = _options.Auth == DeviceAuth.Digest ? "1.10.0" : "1.9.4",
            ["license"] = "PLUS",
        },
        ["meter"] = new JsonObject { ["status"] = "OK", ["interface"] = "P1", ["protocol"] = "DSMR", ["report_interval"] = _options.Interval.TotalSeconds },
        ["wifi"] = new JsonObject { ["mode"] = "sta", ["connected"] = true },
        ["ethernet"] = new JsonObject { ["connected"] = false },
        ["clouds"] = new JsonObject(),
        ["services"] = new JsonObject { ["sse"] = true, ["mdns"] = true },
    };
}
