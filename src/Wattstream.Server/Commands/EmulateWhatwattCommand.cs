using System.CommandLine;
using Wattstream.Emulators.Faults;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Commands;

/// <summary><c>emulate whatwatt</c>: one whatwatt Go device, or a fleet of them (a port each), until stopped.</summary>
internal sealed class EmulateWhatwattCommand : Command
{
    private readonly Option<int> _port = new("--port") { Description = "Port to listen on (127.0.0.1).", DefaultValueFactory = _ => 8080 };
    private readonly Option<string?> _password = new("--password") { Description = "Web UI password; enables authentication. Also read from WHATWATT_PASSWORD." };
    private readonly Option<DeviceAuth> _auth = new("--auth") { Description = "digest (firmware 1.10+) or basic (older).", DefaultValueFactory = _ => DeviceAuth.Digest };
    private readonly Option<double> _interval = new("--interval") { Description = "Seconds between live events.", DefaultValueFactory = _ => 1.0 };
    private readonly Option<string?> _faults = Emulation.FaultsOption();
    private readonly Option<int> _faultEvery = Emulation.FaultEveryOption();
    private readonly Option<bool> _wholeSeconds = new("--whole-seconds") { Description = "Report just after whole seconds of the clock, so a reading's whole-second time is its send time (for timing end to end)." };
    private readonly Option<int> _devices = new("-N", "--devices") { Description = "How many devices, one per port from --port up (a fleet: one server, every device with its own meter, live client and authentication; no faults).", DefaultValueFactory = _ => 1 };
    private readonly Option<bool> _spread = new("--spread") { Description = "With --whole-seconds and a fleet: device i sends i × 900 ms / N after each whole second, as unsynchronised meters would (its clock still says the whole second)." };

    public EmulateWhatwattCommand()
        : base(WhatwattLive.FormatName, "Emulate a whatwatt Go smart-meter adapter: /api/v1/live (one client at a time), /api/v1/report, /api/v1/system, /api/v1/settings.")
    {
        foreach (var option in new Option[] { _port, _password, _auth, _interval, _faults, _faultEvery, _devices, _wholeSeconds, _spread })
        {
            Options.Add(option);
        }

        Validators.Add(result =>
        {
            // In a validator an option left out reads as 0, not its default (so the README's command was refused): an
            // implicit --devices is the one device.
            var count = result.GetResult(_devices) is { Implicit: false } given ? given.GetValueOrDefault<int>() : 1;
            if (count is < 1 or > 10_000)
            {
                result.AddError("--devices must be between 1 and 10000.");
            }
            else if (result.GetValue(_spread) && !result.GetValue(_wholeSeconds))
            {
                result.AddError("--spread spreads whole-second reports: it needs --whole-seconds.");
            }
            else if (count > 1 && result.GetResult(_faults) is { Implicit: false })
            {
                result.AddError("--faults is for one device; a fleet (--devices) serves clean streams.");
            }
        });
        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var options = new WhatwattEmulatorOptions
        {
            Port = result.GetValue(_port),
            Password = result.GetValue(_password) ?? Environment.GetEnvironmentVariable("WHATWATT_PASSWORD"),
            Auth = result.GetValue(_auth),
            Interval = TimeSpan.FromSeconds(result.GetValue(_interval)),
            Faults = FaultKinds.Parse(result.GetValue(_faults)),
            FaultEvery = result.GetValue(_faultEvery),
            WholeSeconds = result.GetValue(_wholeSeconds),
        };
        var authText = options.Password is null ? "none" : options.Auth.ToString().ToLowerInvariant();
        if (result.GetValue(_devices) > 1)
        {
            await using var fleet = WhatwattFleet.Create(options, result.GetValue(_devices), logging => logging.AddSimpleConsole(), result.GetValue(_spread));
            await fleet.StartAsync(cancellationToken);
            Console.WriteLine($"whatwatt fleet of {fleet.Count} devices on {fleet.BaseAddressOf(0)} … {fleet.BaseAddressOf(fleet.Count - 1)}; auth: {authText}");
            await Emulation.WaitForShutdownAsync(cancellationToken);
            return 0;
        }

        await using var emulator = WhatwattEmulator.Create(options, logging => logging.AddSimpleConsole());
        await emulator.StartAsync(cancellationToken);
        Console.WriteLine($"whatwatt emulator {options.HostName} (meter {emulator.MeterNumber}) on {emulator.BaseAddress}; auth: {authText}");
        Console.WriteLine($"  curl -N {(options.Password is null ? "" : "--anyauth -u ':PASSWORD' ")}{emulator.BaseAddress}api/v1/live");
        await Emulation.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
