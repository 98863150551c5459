using Microsoft.Extensions.DependencyInjection.Extensions;
using Wattstream.Server.Composition;
using Wattstream.Storage.Audit;

namespace Wattstream.Server.Audit;

public static class AuditSetup
{
    /// <summary>The audit log of changes (API keys, alert rules), in the history database beside alerts (registered with the store); memory when history is off.</summary>
    public static IServiceCollection AddWattstreamAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<AuditOptions>(configuration, AuditOptions.SectionName);
        services.TryAddSingleton<IAuditStore>(_ => new MemoryAuditStore()); // the history database's, registered with the store
        services.AddSingleton<AuditLog>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditLog>());
        return services;
    }
}
