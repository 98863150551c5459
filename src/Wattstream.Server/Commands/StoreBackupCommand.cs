using System.CommandLine;
using Microsoft.Data.Sqlite;
using Wattstream.Storage.Sqlite;

namespace Wattstream.Server.Commands;

/// <summary><c>store backup PATH</c>: an online copy of the store the settings name, consistent while the hub runs.</summary>
internal sealed class StoreBackupCommand : Command
{
    private readonly Argument<string> _destination = new("PATH") { Description = "The file to write the copy to (it must not exist)." };

    public StoreBackupCommand()
        : base("backup", "Copy the store to PATH with SQLite's online backup, consistent while the hub runs and writes; the copy is checked.")
    {
        Arguments.Add(_destination);
        TreatUnmatchedTokensAsErrors = false;
        SetAction(BackupAsync);
    }

    private async Task<int> BackupAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (await SqliteStoreFile.FindAsync("backup", HostSettings.From(result)) is not { } path)
        {
            return 2;
        }

        var target = Path.GetFullPath(result.GetValue(_destination)!);
        if (File.Exists(target))
        {
            await Console.Error.WriteLineAsync($"wattstream store backup: {target} exists; give a new file, or remove it first.");
            return 1;
        }

        try
        {
            var bytes = SqliteReadingStore.Backup(path, target);
            Console.WriteLine($"Copied {path} to {target} ({bytes} bytes, checked).");
            return 0;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"wattstream store backup: cannot copy {path} to {target}: {e.Message}");
            return 1;
        }
    }
}
