using System.CommandLine;
using Wattstream.Emulators.DerSim;
using Wattstream.Emulators.Faults;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Commands;

/// <summary><c>emulate dersim</c>: the DER simulator's telemetry (overview and WebSocket), until stopped.</summary>
internal sealed class EmulateDerSimCommand : Command
{
    private readonly Option<int> _port = new("--port") { Description = "Port to listen on (127.0.0.1).", DefaultValueFactory = _ => 8111 };
    private readonly Option<int> _devices = new("-N", "--devices") { Description = "How many devices.", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _tick = new("--tick") { Description = "Seconds per simulator tick.", DefaultValueFactory = _ => 1.5 };
    private readonly Option<string?> _faults = Emulation.FaultsOption();
    private readonly Option<int> _faultEvery = Emulation.FaultEveryOption();

    public EmulateDerSimCommand()
        : base(DerSimOverview.FormatName, "Emulate the DER simulator's telemetry: /api/dersim/overview and the WebSocket /api/dersim/ws/telemetry.")
    {
        foreach (var option in new Option[] { _port, _devices, _tick, _faults, _faultEvery })
        {
            Options.Add(option);
        }

        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var options = new DerSimEmulatorOptions
        {
            Port = result.GetValue(_port),
            Devices = Math.Max(1, result.GetValue(_devices)),
            Tick = TimeSpan.FromSeconds(result.GetValue(_tick)),
            Faults = FaultKinds.Parse(result.GetValue(_faults)),
            FaultEvery = result.GetValue(_faultEvery),
        };
        await using var emulator = DerSimEmulator.Create(options, logging => logging.AddSimpleConsole());
        await emulator.StartAsync(cancellationToken);
        Console.WriteLine($"DERSim emulator with {emulator.DeviceCount} device(s) on {emulator.BaseAddress}");
        Console.WriteLine($"  ws://{emulator.BaseAddress.Authority}/api/dersim/ws/telemetry");
        await Emulation.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
