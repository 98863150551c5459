using Wattstream.Storage;

namespace Wattstream.Server.Commands;

/// <summary>The SQLite file <c>store check</c> and <c>store backup</c> work on: the one the settings name (as serve reads them).</summary>
internal static class SqliteStoreFile
{
    /// <summary>The file when it exists; otherwise null, having said why not (PostgreSQL has its own tools).</summary>
    public static async Task<string?> FindAsync(string verb, HostSettings settings)
    {
        var configuration = settings.Read();
        var options = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        if (!string.IsNullOrEmpty(options.PostgresConnectionString))
        {
            var advice = verb == "backup" ? "use pg_dump (or the server's own backups)" : "use pg_amcheck, or the server's own checks";
            await Console.Error.WriteLineAsync($"wattstream store {verb}: the store is PostgreSQL (Storage:PostgresConnectionString): {advice}.");
            return null;
        }

        var path = options.ResolveDatabasePath();
        if (!File.Exists(path))
        {
            await Console.Error.WriteLineAsync($"wattstream store {verb}: there is no database at {path} (Storage:DataDirectory).");
            return null;
        }

        return path;
    }
}
