using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wattstream.Hub;

namespace Wattstream.Storage;

/// <summary>
/// Keeps event ids valid across restarts: before anything publishes, the hub goes on in the epoch and at the sequence
/// the store's last clean stop left (<see cref="TelemetryHub.ContinueAt"/>); after everything stopped (the history
/// writer has drained) the next sequence is noted. A new store, or a run that did not stop cleanly, starts a new epoch.
/// Not in cluster mode, where ids are the shared log's sequences.
/// </summary>
/// <param name="owner">Whose epochs these are: the data directory (several hubs may share one PostgreSQL database).</param>
/// <param name="writer">What stores the events: the next id is noted only when it committed every id before it.</param>
public sealed class StoreEpoch(SqlEventEpochs? epochs, IReadingStore store, TelemetryHub hub, string owner, TimeProvider time, ILogger<StoreEpoch> logger, HistoryWriter? writer = null)
    : IHostedLifecycleService
{
    /// <summary>This run's epoch and first sequence; null before the start.</summary>
    public EpochRun? Current { get; private set; }

    /// <summary>The store's ledger; null for a store that keeps none (ids then count per run).</summary>
    public SqlEventEpochs? Epochs => epochs;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (epochs is null)
        {
            return;
        }

        await store.MigrateAsync(cancellationToken);
        await epochs.MigrateAsync(cancellationToken);
        var run = await epochs.BeginAsync(owner, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        hub.ContinueAt(run.Epoch, run.FirstSequence);
        Current = run;
        if (run.Start == EpochStart.AfterUncleanStop)
        {
            // Not a warning: after a kill the hub cannot know which ids it gave out were stored, and says so by the new epoch.
            logger.LogInformation("Event ids: the last run did not stop cleanly, so ids start anew in epoch {Epoch}; a client resuming from before it is told of the gap", run.Epoch);
        }
        else
        {
            logger.LogDebug("Event ids: epoch {Epoch} from sequence {Sequence} ({Start})", run.Epoch, run.FirstSequence, run.Start);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // After every service's StopAsync: the sources are quiet and the writer has stored (or given up on) what was queued.
    // Not noted (so the next start takes a new epoch) when an id before the next was never stored.
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (Current is not { } run || epochs is null)
        {
            return;
        }

        var next = hub.NextSequence;
        if (writer is not null && next > run.FirstSequence && writer.CommittedThrough < next - 1)
        {
            // Ids given to events history does not hold (the store was away past Storage:ShutdownGrace, or something
            // published after the writer stopped): going on after them would hide the hole from a resuming client.
            logger.LogWarning(
                "Stopping: events {From} to {To} of epoch {Epoch} were given ids but not stored; the next start begins a new epoch, and a client resuming across it is told of the gap",
                Math.Max(run.FirstSequence, writer.CommittedThrough + 1), next - 1, run.Epoch);
            return;
        }

        try
        {
            await epochs.EndAsync(run.Epoch, next, cancellationToken);
        }
        catch (Exception e) when (e is DbException or TimeoutException or OperationCanceledException or StoreStartException)
        {
            logger.LogWarning("Stopping: could not note the last event id in {Store} ({Reason}); the next start begins a new epoch, and a client resuming across it is told of a gap", store.Kind, e.Message);
        }
    }
}
