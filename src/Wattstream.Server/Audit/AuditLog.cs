using Microsoft.Extensions.Options;
using Wattstream.Server.Access;
using Wattstream.Storage.Audit;

namespace Wattstream.Server.Audit;

/// <summary>
/// Who changed what: every change of an API key or an alert rule through the API becomes one log line of the
/// <see cref="Category"/> category and one stored entry per org it concerns (so an org admin reads its own orgs'
/// entries only). Callers pass ids, names and rule bodies, never a secret. The store is migrated before the server
/// starts and kept within <see cref="AuditOptions"/> by a periodic cleanup.
/// </summary>
public sealed class AuditLog(IAuditStore store, IOptions<AuditOptions> options, TimeProvider time, ILoggerFactory loggers) : IHostedLifecycleService, IDisposable
{
    /// <summary>The logger category of audit lines, to route them somewhere of their own.</summary>
    public const string Category = "Wattstream.Audit";

    public const string ApiKey = "api_key";
    public const string AlertRule = "alert_rule";

    private readonly ILogger _audit = loggers.CreateLogger(Category);
    private readonly ILogger _logger = loggers.CreateLogger<AuditLog>();
    private readonly CancellationTokenSource _stopping = new();
    private Task _cleanup = Task.CompletedTask;

    public IAuditStore Store => store;

    /// <summary>
    /// Records that the request's caller did <paramref name="action"/> to <paramref name="kind"/> <paramref name="target"/>
    /// in <paramref name="orgs"/> (null or <c>*</c>: hub-wide). <paramref name="details"/> is JSON without secrets.
    /// A store that fails is logged; the change stands.
    /// </summary>
    public async Task RecordAsync(HttpContext context, string action, string kind, string target, IEnumerable<string?> orgs, string? details = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(orgs);
        var caller = Caller.Of(context.User);
        var subject = caller?.Name ?? "anonymous";
        string?[] scoped = [.. orgs.Select(o => o == "*" ? null : o).Distinct()];
        if (scoped.Length == 0 || scoped.Contains(null))
        {
            scoped = [null];
        }

        var now = time.GetUtcNow();
        _audit.LogInformation(
            "{Subject} (issuer {Issuer}) {Action} {Kind} {Target} in {Orgs} at {Time:O}: {Details}",
            subject,
            caller?.Issuer,
            action,
            kind,
            target,
            scoped[0] is null ? "every org" : string.Join(',', scoped),
            now,
            details);
        try
        {
            foreach (var org in scoped)
            {
                // Not the request's token: a client that goes away must not keep its change out of the log.
                await store.AppendAsync(new AuditEntry(0, now.ToUnixTimeMilliseconds(), subject, caller?.Issuer, org, action, kind, target, details), CancellationToken.None);
            }
        }
        catch (Exception e)
        {
            _logger.LogWarning("Audit store write failed ({Action} {Kind} {Target}): {Error}", action, kind, target, e.Message);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _cleanup = CleanupAsync();
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _cleanup.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    private async Task CleanupAsync()
    {
        var o = options.Value;
        using var timer = new PeriodicTimer(o.CleanupInterval, time);
        try
        {
            do
            {
                try
                {
                    var deleted = await store.DeleteOlderThanAsync((time.GetUtcNow() - o.Retention).ToUnixTimeMilliseconds(), _stopping.Token)
                        + await store.TrimAsync(o.MaxEntriesPerOrg, _stopping.Token);
                    if (deleted > 0)
                    {
                        _logger.LogInformation("Audit cleanup: deleted {Count} entries (older than {Retention}, or past {Max} per org)", deleted, o.Retention, o.MaxEntriesPerOrg);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogWarning("Audit cleanup failed: {Error}", e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
