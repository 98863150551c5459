using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Wattstream.Storage;

/// <summary>Deletes readings past the retention period, in the background (alerts have their own, <c>Alerts:Retention</c>).</summary>
public sealed class RetentionService(IReadingStore store, IOptions<StorageOptions> storageOptions, TimeProvider time, ILogger<RetentionService> logger) : BackgroundService
{
    private readonly StorageOptions options = storageOptions.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.RetentionInterval, time);
        try
        {
            do
            {
                await RunOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        try
        {
            var cutoff = time.GetUtcNow() - options.Retention;
            var deleted = await store.DeleteOlderThanAsync(cutoff.ToUnixTimeMilliseconds(), stoppingToken);
            if (deleted > 0)
            {
                logger.LogInformation("Retention: deleted {Count} readings older than {Cutoff:u}", deleted, cutoff);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Retention failed: {Error}", e.Message);
        }
    }
}
