using System.CommandLine;
using System.Runtime.InteropServices;
using Wattstream.Emulators.Faults;

namespace Wattstream.Server.Commands;

/// <summary>What the <c>emulate</c> commands share: the fault options and running until asked to stop.</summary>
internal static class Emulation
{
    public static Option<string?> FaultsOption() => new("--faults")
    {
        Description = $"Faults to inject, comma-separated: {string.Join(", ", FaultKinds.All.Select(f => f.ToOptionName()))}, or all.",
    };

    public static Option<int> FaultEveryOption() => new("--fault-every")
    {
        Description = "Replace every N-th event by the next stream fault.",
        DefaultValueFactory = _ => 3,
    };

    /// <summary>
    /// Until Ctrl+C, SIGTERM or the command line's own cancellation. A completion source, not a disposable token source:
    /// System.CommandLine handles SIGTERM too, and a handler still running after this returned must find nothing disposed.
    /// </summary>
    public static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = cancellationToken.Register(() => stopped.TrySetResult());
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stopped.TrySetResult();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stopped.TrySetResult();
            });
            await stopped.Task;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
