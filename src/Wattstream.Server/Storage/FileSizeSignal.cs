using System.Runtime.InteropServices;

namespace Wattstream.Server.Storage;

/// <summary>
/// A process past its file-size limit (<c>ulimit -f</c>, systemd's <c>LimitFSIZE</c>) gets SIGXFSZ, whose default action
/// ends it at once, without a word. Ignored, the write that crossed the limit fails with EFBIG instead: the store reports
/// it, the history writer keeps the readings queued and retries, and everything else keeps serving — as on a full disk.
/// </summary>
/// <remarks>
/// .NET has no managed way to ignore a signal (PosixSignalRegistration installs a handler, it does not set SIG_IGN),
/// so this calls libc's <c>signal(2)</c> once at start. Linux only; elsewhere nothing is done.
/// </remarks>
internal static class FileSizeSignal
{
    private const int SIGXFSZ = 25; // Linux, on every architecture .NET runs on
    private static readonly nint SIG_IGN = 1;

    public static void Ignore()
    {
        if (OperatingSystem.IsLinux())
        {
            _ = Signal(SIGXFSZ, SIG_IGN);
        }
    }

    // DllImport, not LibraryImport: the arguments are blittable, and LibraryImport would need unsafe code in the project.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "signal")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern nint Signal(int signal, nint handler);
#pragma warning restore SYSLIB1054
}
