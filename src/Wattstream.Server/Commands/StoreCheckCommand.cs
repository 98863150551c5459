using System.CommandLine;
using Microsoft.Data.Sqlite;
using Wattstream.Storage.Sqlite;

namespace Wattstream.Server.Commands;

/// <summary><c>store check</c>: the full <c>integrity_check</c> of the store the settings name; exit 0 sound, 1 damaged.</summary>
internal sealed class StoreCheckCommand : Command
{
    public StoreCheckCommand()
        : base("check", "Run SQLite's full integrity_check on the store (read-only; the hub may run): exit 0 when sound, 1 when damaged.")
    {
        TreatUnmatchedTokensAsErrors = false;
        SetAction(async (result, _) =>
        {
            if (await SqliteStoreFile.FindAsync("check", HostSettings.From(result)) is not { } path)
            {
                return 2;
            }

            try
            {
                var problems = SqliteReadingStore.RunCheck(path);
                if (problems.Count == 0)
                {
                    Console.WriteLine($"{path} is sound (integrity_check: ok).");
                    return 0;
                }

                await Console.Error.WriteLineAsync($"wattstream store check: {path} is damaged ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): restore it from a backup, or move it aside (with its -wal and -shm) to start with an empty store.");
                foreach (var problem in problems.Take(20))
                {
                    await Console.Error.WriteLineAsync($"  {problem}");
                }

                return 1;
            }
            catch (SqliteException e)
            {
                await Console.Error.WriteLineAsync($"wattstream store check: cannot check {path}: {e.Message}");
                return 1;
            }
        });
    }
}
