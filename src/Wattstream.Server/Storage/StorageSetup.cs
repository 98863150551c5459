using Microsoft.Extensions.Options;
using Wattstream.Server.Composition;
using Wattstream.Storage;
using Wattstream.Storage.Postgres;
using Wattstream.Storage.Sqlite;

namespace Wattstream.Server.Storage;

/// <summary>Chooses the store (PostgreSQL with a connection string, SQLite otherwise) and runs the writer and retention.</summary>
public static class StorageSetup
{
    public static IServiceCollection AddWattstreamStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<StorageOptions>(configuration, StorageOptions.SectionName)
            .Validate(o => o.MaxBytes is null || string.IsNullOrEmpty(o.PostgresConnectionString), "Storage:MaxBytes caps a SQLite store; with PostgreSQL, bound history with Storage:Retention (or the database's own quotas).");
        var options = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        if (!options.Enabled)
        {
            return services;
        }

        services.AddSingleton<IReadingStore>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return string.IsNullOrEmpty(o.PostgresConnectionString)
                ? new SqliteReadingStore(o.ResolveDatabasePath(), o, sp.GetRequiredService<ILogger<SqliteReadingStore>>())
                : new PostgresReadingStore(o.PostgresConnectionString);
        });
        services.AddSingleton<HistoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<HistoryWriter>());
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        services.AddHostedService<StoredDerDirectory>();
        return services;
    }
}
