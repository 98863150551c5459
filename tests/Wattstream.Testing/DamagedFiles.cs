using System.Diagnostics;
using System.Security.Cryptography;

namespace Wattstream.Testing;

#pragma warning disable CA1416 // file modes, mount and chattr: the suite runs on Linux

/// <summary>
/// Files gone wrong on purpose: pages of garbage written into a database, a folder or file made read-only, a small
/// full disk (a tmpfs). Each change is undone by disposing what it returns.
/// </summary>
public static class DamagedFiles
{
    /// <summary>Garbage over <paramref name="pages"/> 4 KiB pages in the middle of the file, as the fault probe wrote them.</summary>
    public static void CorruptMiddle(string path, int pages)
    {
        var length = new FileInfo(path).Length;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        var garbage = new byte[4096];
        for (var i = 0; i < pages; i++)
        {
            RandomNumberGenerator.Fill(garbage);
            file.Position = ((length / 2 / 4096) + i) * 4096;
            file.Write(garbage);
        }
    }

    /// <summary>A hash of the file's bytes, to show nothing was written into it.</summary>
    public static string Fingerprint(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>
    /// The folder read-only: a read-only bind mount over it as root (root ignores file modes), mode 0555 otherwise.
    /// </summary>
    public static async Task<IAsyncDisposable> ReadOnlyFolderAsync(string folder)
    {
        if (!IsRoot)
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            return new Undo(() => { File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); return Task.CompletedTask; });
        }

        await RunAsync("mount", "--bind", "-o", "ro", folder, folder);
        return new Undo(() => RunAsync("umount", folder));
    }

    /// <summary>The file read-only: mode 0444, and as root also immutable (chattr +i), since root writes past modes.</summary>
    public static async Task<IAsyncDisposable> ReadOnlyFileAsync(string path)
    {
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        if (IsRoot)
        {
            await RunAsync("chattr", "+i", path);
        }

        return new Undo(async () =>
        {
            if (IsRoot)
            {
                await RunAsync("chattr", "-i", path);
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        });
    }

    /// <summary>A tmpfs of <paramref name="kilobytes"/> KiB mounted on <paramref name="folder"/> (root only: null otherwise).</summary>
    public static async Task<IAsyncDisposable?> SmallDiskAsync(string folder, int kilobytes)
    {
        if (!IsRoot)
        {
            return null;
        }

        Directory.CreateDirectory(folder);
        await RunAsync("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", folder);
        return new Undo(() => RunAsync("umount", folder));
    }

    /// <summary>Fills the disk holding <paramref name="folder"/> with one file, until the disk refuses more.</summary>
    public static void Fill(string folder)
    {
        using var file = new FileStream(Path.Combine(folder, "filler"), FileMode.Create, FileAccess.Write);
        var block = new byte[4096];
        try
        {
            for (var i = 0; i < 1_000_000; i++)
            {
                file.Write(block);
                file.Flush();
            }
        }
        catch (IOException)
        {
            return; // full
        }

        throw new InvalidOperationException($"{folder} took 4 GB without filling up");
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await error}");
        }
    }

    private sealed class Undo(Func<Task> undo) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await undo();
    }
}
