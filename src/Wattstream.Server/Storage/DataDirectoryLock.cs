using System.Globalization;
using System.Text;

namespace Wattstream.Server.Storage;

/// <summary>
/// One hub per data directory: the hub holds an OS lock on <c>wattstream.lock</c> there for its lifetime, with its
/// process id in the file. The lock is a record lock (<see cref="FileStream.Lock"/>: <c>fcntl</c> on Linux), which the
/// kernel drops when the process ends however it ends, so a killed hub leaves no stale lock; and, unlike an exclusive
/// open, it lets a second process read the holder's pid to name it.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "wattstream.lock";

    private readonly FileStream _file;

    private DataDirectoryLock(string directory, FileStream file)
    {
        Directory = directory;
        _file = file;
    }

    public string Directory { get; }

    /// <summary>
    /// Takes the lock of <paramref name="directory"/> (created, owner-only, when missing), or returns null with the reason:
    /// <paramref name="heldElsewhere"/> when another process holds it (naming its pid), else <paramref name="unusable"/>
    /// when the folder cannot be used (missing rights, a file in the way, a full disk).
    /// </summary>
    public static DataDirectoryLock? TryAcquire(string directory, out string? heldElsewhere, out string? unusable)
    {
        heldElsewhere = null;
        unusable = null;
        directory = Path.GetFullPath(directory);
        FileStream? file = null;
        try
        {
            if (!System.IO.Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows())
                {
                    System.IO.Directory.CreateDirectory(directory);
                }
                else
                {
                    System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }

            var path = Path.Combine(directory, FileName);
            // Shared open, exclusive record lock: the holder's pid stays readable to the process it turns away. (macOS has no
            // record locks in .NET: there the exclusive open is the lock, and a second hub is refused by the open itself.)
            // Unbuffered: a write that fails (a full disk) fails here, not again when the stream is disposed.
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, OperatingSystem.IsMacOS() ? FileShare.None : FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            if (!TryLock(file))
            {
                var holder = ReadPid(file);
                file.Dispose();
                heldElsewhere = $"the data directory {directory} is in use by another hub ({(holder is null ? "process id unknown" : $"pid {holder}")}; {path} holds its lock). Run one hub per data directory: give this one its own with --Storage:DataDirectory=…";
                return null;
            }

            var pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            file.SetLength(0);
            file.Write(pid);
            file.Flush(flushToDisk: true);
            return new DataDirectoryLock(directory, file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file?.Dispose();
            unusable = $"cannot lock the data directory {directory} (Storage:DataDirectory): {e.Message}";
            return null;
        }
    }

    private static bool TryLock(FileStream file)
    {
        if (OperatingSystem.IsMacOS())
        {
            return true;
        }

        try
        {
            file.Lock(0, 1);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string? ReadPid(FileStream file)
    {
        try
        {
            file.Position = 0;
            var buffer = new byte[32];
            var read = file.Read(buffer);
            var text = Encoding.ASCII.GetString(buffer, 0, read).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid.ToString(CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null; // Windows: the locked byte cannot be read either
        }
    }

    /// <summary>Ends the hold (the process's end would too).</summary>
    public void Dispose() => _file.Dispose();
}
