using System.CommandLine;
using Wattstream.Emulators.DerSim;
using Wattstream.Emulators.Faults;
using Wattstream.Emulators.Whatwatt;

namespace Wattstream.Server;

/// <summary>
/// The executable's commands: with none, the hub (every other argument goes to ASP.NET Core: <c>--urls</c>,
/// <c>--Section:Key=value</c>); <c>emulate whatwatt</c> and <c>emulate dersim</c> run a device emulator.
/// </summary>
public static class CommandLine
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Wattstream: a real-time energy telemetry hub. Without a command it runs the hub; options such as --urls and --Simulation:Seed=42 go to the host.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.SetAction(async (result, _) =>
        {
            var app = WattstreamApp.Build([.. result.UnmatchedTokens]);
            await app.RunAsync();
            return 0;
        });

        var emulate = new Command("emulate", "Run a device emulator: a real server that keeps the device's rules.");
        emulate.Subcommands.Add(WhatwattCommand());
        emulate.Subcommands.Add(DerSimCommand());
        root.Subcommands.Add(emulate);

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static Option<string?> FaultsOption() => new("--faults")
    {
        Description = $"Faults to inject, comma-separated: {string.Join(", ", FaultKinds.All.Select(f => f.ToOptionName()))}, or all.",
    };

    private static Option<int> FaultEveryOption() => new("--fault-every")
    {
        Description = "Replace every N-th event by the next stream fault.",
        DefaultValueFactory = _ => 3,
    };

    private static Command WhatwattCommand()
    {
        var port = new Option<int>("--port") { Description = "Port to listen on (127.0.0.1).", DefaultValueFactory = _ => 8080 };
        var password = new Option<string?>("--password")
        {
            Description = "Web UI password; enables authentication. Also read from WHATWATT_PASSWORD.",
        };
        var auth = new Option<DeviceAuth>("--auth") { Description = "digest (firmware 1.10+) or basic (older).", DefaultValueFactory = _ => DeviceAuth.Digest };
        var interval = new Option<double>("--interval") { Description = "Seconds between live events.", DefaultValueFactory = _ => 1.0 };
        var faults = FaultsOption();
        var faultEvery = FaultEveryOption();
        var command = new Command(Telemetry.Formats.WhatwattLive.FormatName, "Emulate a whatwatt Go smart-meter adapter: /api/v1/live (one client at a time), /api/v1/report, /api/v1/system.")
        {
            port, password, auth, interval, faults, faultEvery,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new WhatwattEmulatorOptions
            {
                Port = result.GetValue(port),
                Password = result.GetValue(password) ?? Environment.GetEnvironmentVariable("WHATWATT_PASSWORD"),
                Auth = result.GetValue(auth),
                Interval = TimeSpan.FromSeconds(result.GetValue(interval)),
                Faults = FaultKinds.Parse(result.GetValue(faults)),
                FaultEvery = result.GetValue(faultEvery),
            };
            await using var emulator = WhatwattEmulator.Create(options, logging => logging.AddSimpleConsole());
            await emulator.StartAsync(cancellationToken);
            Console.WriteLine($"whatwatt emulator {options.HostName} (meter {emulator.MeterNumber}) on {emulator.BaseAddress}; auth: {(options.Password is null ? "none" : options.Auth.ToString().ToLowerInvariant())}");
            Console.WriteLine($"  curl -N {(options.Password is null ? "" : "--anyauth -u ':PASSWORD' ")}{emulator.BaseAddress}api/v1/live");
            await WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    private static Command DerSimCommand()
    {
        var port = new Option<int>("--port") { Description = "Port to listen on (127.0.0.1).", DefaultValueFactory = _ => 8111 };
        var devices = new Option<int>("-N", "--devices") { Description = "How many devices.", DefaultValueFactory = _ => 1 };
        var tick = new Option<double>("--tick") { Description = "Seconds per simulator tick.", DefaultValueFactory = _ => 1.5 };
        var faults = FaultsOption();
        var faultEvery = FaultEveryOption();
        var command = new Command(Telemetry.Formats.DerSimOverview.FormatName, "Emulate the DER simulator's telemetry: /api/dersim/overview and the WebSocket /api/dersim/ws/telemetry.")
        {
            port, devices, tick, faults, faultEvery,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new DerSimEmulatorOptions
            {
                Port = result.GetValue(port),
                Devices = Math.Max(1, result.GetValue(devices)),
                Tick = TimeSpan.FromSeconds(result.GetValue(tick)),
                Faults = FaultKinds.Parse(result.GetValue(faults)),
                FaultEvery = result.GetValue(faultEvery),
            };
            await using var emulator = DerSimEmulator.Create(options, logging => logging.AddSimpleConsole());
            await emulator.StartAsync(cancellationToken);
            Console.WriteLine($"DERSim emulator with {emulator.DeviceCount} device(s) on {emulator.BaseAddress}");
            Console.WriteLine($"  ws://{emulator.BaseAddress.Authority}/api/dersim/ws/telemetry");
            await WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    private static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        using var stop = new CancellationTokenSource();
        using var _ = cancellationToken.Register(stop.Cancel);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
