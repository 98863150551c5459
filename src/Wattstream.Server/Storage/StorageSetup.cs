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

        services.AddSingleton<IDatabaseStore>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return string.IsNullOrEmpty(o.PostgresConnectionString)
                ? new SqliteReadingStore(o.ResolveDatabasePath(), o, sp.GetRequiredService<ILogger<SqliteReadingStore>>())
                : new PostgresReadingStore(o.PostgresConnectionString);
        });
        services.AddSingleton<IReadingStore>(sp => sp.GetRequiredService<IDatabaseStore>());

        // Alerts and the audit log live in the same database (without a store, their setups fall back to memory).
        services.AddSingleton(sp => sp.GetRequiredService<IDatabaseStore>().CreateAlertStore());
        services.AddSingleton(sp => sp.GetRequiredService<IDatabaseStore>().CreateAuditStore());
        var nats = configuration.GetSection(Wattstream.Nats.NatsOptions.SectionName).Get<Wattstream.Nats.NatsOptions>() ?? new Wattstream.Nats.NatsOptions();
        if (!(nats.Enabled && nats.Cluster))
        {
            // Event ids go on across clean restarts in the store's epoch (cluster mode: the shared log's sequences instead).
            // Registered before the writer, so it stops after it: the last id is noted once what was queued is stored.
            services.AddSingleton(sp =>
            {
                return new StoreEpoch(
                    sp.GetRequiredService<IDatabaseStore>().CreateEventEpochs(),
                    sp.GetRequiredService<IReadingStore>(),
                    sp.GetRequiredService<Wattstream.Hub.TelemetryHub>(),
                    // Whose epochs: a SQLite file belongs to its directory wherever it moves; a PostgreSQL database may
                    // serve several hubs, each its data directory on its machine.
                    !string.IsNullOrEmpty(sp.GetRequiredService<IOptions<StorageOptions>>().Value.PostgresConnectionString)
                        ? $"{Environment.MachineName}:{Path.GetFullPath(sp.GetRequiredService<IOptions<StorageOptions>>().Value.ResolveDataDirectory())}"
                        : "sqlite",
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<StoreEpoch>>(),
                    sp.GetRequiredService<HistoryWriter>());
            });
            services.AddHostedService(sp => sp.GetRequiredService<StoreEpoch>());
        }

        services.AddSingleton<HistoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<HistoryWriter>());
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        services.AddHostedService<StoredDerDirectory>();
        return services;
    }
}
