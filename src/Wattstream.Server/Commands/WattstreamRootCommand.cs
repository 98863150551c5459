using System.CommandLine;

namespace Wattstream.Server.Commands;

/// <summary>
/// The executable's commands, the whole tree in one place: <c>serve</c> (also with none) runs the hub (every other
/// argument goes to ASP.NET Core: <c>--urls</c>, <c>--Section:Key=value</c>); the others each have a file here.
/// </summary>
internal sealed class WattstreamRootCommand : RootCommand
{
    public WattstreamRootCommand()
        : base("Wattstream: a real-time energy telemetry hub. Without a command it runs the hub; options such as --urls and --Simulation:Seed=42 go to the host.")
    {
        TreatUnmatchedTokensAsErrors = false;
        SetAction(ServeCommand.RunAsync);
        Subcommands.Add(new ServeCommand());
        Subcommands.Add(new Command("config", "Work with the configuration.") { new ConfigCheckCommand() });
        Subcommands.Add(new Command("token", "Work with access tokens (docs/security.md).") { new TokenCreateCommand() });
        Subcommands.Add(new TailCommand());
        Subcommands.Add(new Command("store", "Work with the history store (SQLite).") { new StoreCheckCommand(), new StoreBackupCommand() });
        Subcommands.Add(new Command("emulate", "Run a device emulator: a real server that keeps the device's rules.") { new EmulateWhatwattCommand(), new EmulateDerSimCommand(), new EmulateMqttCommand(Emulators.Mqtt.MqttDeviceFamily.Tasmota), new EmulateMqttCommand(Emulators.Mqtt.MqttDeviceFamily.Shelly) });
    }

    public static Task<int> RunAsync(string[] args) =>
        new WattstreamRootCommand().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
}
