using Wattstream.Server.Composition;
using Wattstream.Storage;
using Wattstream.Storage.Audit;
using Wattstream.Storage.Postgres;
using Wattstream.Storage.Sqlite;

namespace Wattstream.Server.Audit;

public static class AuditSetup
{
    /// <summary>The audit log of changes (API keys, alert rules), in the history database beside alerts; memory when history is off.</summary>
    public static IServiceCollection AddWattstreamAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<AuditOptions>(configuration, AuditOptions.SectionName);
        services.AddSingleton<IAuditStore>(sp => sp.GetService<IReadingStore>() switch
        {
            SqliteReadingStore sqlite => sqlite.CreateAuditStore(),
            PostgresReadingStore postgres => postgres.CreateAuditStore(),
            _ => new MemoryAuditStore(),
        });
        services.AddSingleton<AuditLog>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditLog>());
        return services;
    }
}
