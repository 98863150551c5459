using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Wattstream.Storage;

/// <summary>
/// Deletes readings past the retention period, in the background (alerts have their own, <c>Alerts:Retention</c>); with
/// <c>Storage:MaxBytes</c>, also the oldest readings while the store takes more room than that.
/// </summary>
public sealed class RetentionService(IReadingStore store, IOptions<StorageOptions> storageOptions, TimeProvider time, ILogger<RetentionService> logger) : BackgroundService
{
    private readonly StorageOptions options = storageOptions.Value;
    private long _deletedForSize;

    /// <summary>The cap on the store's room, <c>Storage:MaxBytes</c>; null without one.</summary>
    public long? MaxBytes => options.MaxBytes;

    /// <summary>Readings deleted to keep the store under <c>Storage:MaxBytes</c>, since the start.</summary>
    public long DeletedForSize => Interlocked.Read(ref _deletedForSize);

    /// <summary>The newest reading time deleted for <c>Storage:MaxBytes</c> (epoch ms): what is older is gone.</summary>
    public long? SizeCutoff { get; private set; }

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

            if (options.MaxBytes is { } maxBytes)
            {
                await CapSizeAsync(maxBytes, stoppingToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Retention failed: {Error}", e.Message);
        }
    }

    // Deletes down to 90 % of the cap (so the next few batches do not cross it again at once), oldest first. Readings
    // arrive at a fairly even rate, so the share of room to free is taken as the same share of the time the store
    // holds; a few passes correct the guess. Freed pages are reused by later writes: the file stops growing.
    private async Task CapSizeAsync(long maxBytes, CancellationToken cancellationToken)
    {
        if (await store.MeasureAsync(cancellationToken) is not { } size || size.UsedBytes <= maxBytes)
        {
            return;
        }

        var before = size.UsedBytes;
        var target = maxBytes / 10 * 9;
        long deleted = 0;
        long? cutoff = null;
        for (var pass = 0; pass < 16 && size.UsedBytes > target && await store.TimeRangeAsync(cancellationToken) is { } range; pass++)
        {
            var share = Math.Clamp((double)(size.UsedBytes - target) / size.UsedBytes, 0.01, 1);
            cutoff = range.Oldest + Math.Max(1, (long)Math.Ceiling(share * (range.Newest - range.Oldest + 1)));
            deleted += await store.DeleteOlderThanAsync(cutoff.Value, cancellationToken);
            size = await store.MeasureAsync(cancellationToken) ?? size;
        }

        Interlocked.Add(ref _deletedForSize, deleted);
        SizeCutoff = cutoff ?? SizeCutoff;
        logger.LogWarning(
            "Storage:MaxBytes: the store took {Before} bytes, over its {Max}; deleted the {Count} oldest readings (before {Cutoff:u}), it now takes {After} bytes",
            before, maxBytes, deleted, cutoff is { } c ? DateTimeOffset.FromUnixTimeMilliseconds(c) : null, size.UsedBytes);
    }
}
