using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Wattstream.Storage;

/// <summary>
/// Opens the store before the hub starts: checks and migrates it, and while it is away (PostgreSQL not up yet, the file
/// locked) tries again with backoff for <c>Storage:StartTimeout</c>. What cannot be mended by waiting stops the start at
/// once; either way the <see cref="StoreStartException"/> is one line for the operator.
/// </summary>
public static class StoreStartup
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    public static async Task OpenAsync(IReadingStore store, StorageOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        var started = Stopwatch.StartNew();
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                await store.MigrateAsync(cancellationToken);
                return;
            }
            catch (StoreStartException e) when (e.Transient)
            {
                var left = options.StartTimeout - started.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new StoreStartException($"{e.Message} Gave up after {started.Elapsed.TotalSeconds:0} s (Storage:StartTimeout).", inner: e);
                }

                delay = delay < left ? delay : left;
                logger.LogWarning("{Problem} Trying again in {Delay:0.#} s (for up to {Left:0} s more, Storage:StartTimeout)", e.Message, delay.TotalSeconds, left.TotalSeconds);
                await Task.Delay(delay, cancellationToken);
                delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
            }
        }
    }
}
