using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using Wattstream.Hub.Jobs;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// Job ownership by rendezvous hashing over the live nodes (<see cref="ClusterMembership"/>), confirmed by a lease in
/// <see cref="ClusterBuckets.Leases"/>: an entry per job whose value is the owner's id, created only when absent and
/// renewed by compare-and-set on its revision every third of <c>Nats:LeaseTtl</c>. No job runs without a lease the KV
/// confirmed: a job starts only after the create or update succeeded, and its token is cancelled two thirds of a TTL
/// after the last confirmed renewal was sent — before the bucket can forget the entry (a TTL after that write) and let
/// another node create it. A failed renewal cancels at once.
/// </summary>
/// <remarks>
/// A node that is no longer the rendezvous owner (a node joined) stops the job, waits for it to end and deletes the
/// lease; the others watch the bucket and take a deleted lease at once. Graceful shutdown does the same for every job.
/// After a kill the node's entry and leases lapse within the TTL and the next owners create them.
/// <para>
/// Not every node need carry every job (a source configured on one node, the simulator on another): the rendezvous
/// owner may not know the job at all. So an owner that finds the lease held by another node <em>claims</em> it
/// (<c>claim.{job}</c> in the same bucket, lapsing like a lease), and a holder hands a job on only to an owner that
/// claimed it; and a node that is not the owner takes a job whose lease has been absent for a whole TTL — its owner
/// would have taken it by then had it carried the job. Both go through the same create-only lease, so a job still runs
/// on one node at a time.
/// </para>
/// </remarks>
public sealed partial class JobLeases : IJobOwnership, IAsyncDisposable
{
    private readonly INatsKVStore _bucket;
    private readonly ClusterMembership _membership;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;
    private Task _watching = Task.CompletedTask;
    private long _moves;
    private int _disposed;

    /// <summary>The bucket as the watch last showed it (leases and claims), with the server time of each entry's write.</summary>
    private readonly ConcurrentDictionary<string, (string Node, DateTimeOffset Written)> _seen = new(StringComparer.Ordinal);

    /// <summary>The key prefix of a claim; lease keys never hold a dot (<see cref="ClusterBuckets.Encode"/> escapes it).</summary>
    private const string ClaimPrefix = "claim.";

    private JobLeases(INatsKVStore bucket, ClusterMembership membership, ILogger log)
    {
        _bucket = bucket;
        _membership = membership;
        _log = log;
    }

    public string Node => _membership.Node;

    public IReadOnlyCollection<string> Owned => [.. _jobs.Values.Where(j => j.Running).Select(j => j.Key).Order(StringComparer.Ordinal)];

    /// <summary>Leases this node has taken (a job starting here, first or moved from another node).</summary>
    public long Moves => Interlocked.Read(ref _moves);

    /// <summary>How long a job keeps running after the last confirmed renewal was sent: two thirds of the TTL.</summary>
    private TimeSpan Hold => _membership.Ttl * 2 / 3;

    /// <summary>Opens the lease bucket and starts the rounds that take, renew and hand on this node's leases.</summary>
    public static async Task<JobLeases> StartAsync(INatsConnection connection, ClusterMembership membership, ILogger log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(membership);
        var bucket = await ClusterBuckets.OpenAsync(connection, ClusterBuckets.Leases, membership.Ttl, membership.Replicas, cancellationToken);
        var leases = new JobLeases(bucket, membership, log);
        leases._watching = Task.Run(() => leases.WatchReleasesAsync(leases._stopping.Token), CancellationToken.None);
        leases._running = Task.Run(() => leases.RunAsync(leases._stopping.Token), CancellationToken.None);
        return leases;
    }

    public Task<IAsyncDisposable> RunWhileOwnedAsync(string key, Func<CancellationToken, Task> job, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(job);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var registered = new Job(key, job);
        if (!_jobs.TryAdd(key, registered))
        {
            throw new InvalidOperationException($"The job {key} is registered already.");
        }

        _wake.Writer.TryWrite(true);
        return Task.FromResult<IAsyncDisposable>(new Registration(this, registered));
    }

    /// <summary>Who holds which lease now, by job key (every node's, for <c>/api/cluster</c>).</summary>
    public async Task<IReadOnlyDictionary<string, string>> LeasesAsync(CancellationToken cancellationToken) =>
        (await ClusterBuckets.EntriesAsync(_bucket, cancellationToken))
            .Where(e => !e.Key.StartsWith(ClaimPrefix, StringComparison.Ordinal))
            .ToDictionary(e => ClusterBuckets.Decode(e.Key), e => e.Value!, StringComparer.Ordinal);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RoundAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Membership unreadable (NATS away): held jobs stop when their hold runs out; the next round tries again.
                LogRoundFailed(Node, e.Message);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(_membership.Period);
            try
            {
                await _wake.Reader.WaitToReadAsync(wait.Token);
                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>One pass over the registered jobs: renew what is ours, hand on what moved, take what became ours.</summary>
    private async Task RoundAsync(CancellationToken stopping)
    {
        await _round.WaitAsync(stopping);
        // A round is bounded: a KV call that never answers (a listing on a connection going away was seen to hang)
        // must not hold the gate, which a registration being disposed waits for.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        bounded.CancelAfter(_membership.Ttl);
        var cancellationToken = bounded.Token;
        try
        {
            IReadOnlyList<string>? nodes = null;
            try
            {
                nodes = await _membership.LiveNodesAsync(cancellationToken); // its listing is bounded (ClusterBuckets)
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                // Membership unreadable: held leases are still renewed (or found lost, and their jobs stopped); none is taken.
                LogRoundFailed(Node, e.Message);
            }

            var now = DateTimeOffset.UtcNow;
            foreach (var job in _jobs.Values)
            {
                var owner = nodes is null ? null : Rendezvous.Owner(job.Key, nodes);
                if (job.Revision > 0)
                {
                    if (owner is not null && owner != Node && Seen(ClaimPrefix + job.Id, now) == owner)
                    {
                        // In the background: the job may take a moment to end, and the other leases must be renewed meanwhile.
                        LogHandingOn(Node, job.Key, owner);
                        job.Handoff = ReleaseAsync(job);
                    }
                    else
                    {
                        await RenewAsync(job, cancellationToken);
                    }
                }
                else if (owner is null || !job.Idle)
                {
                    job.UnheldSince = null;
                }
                else if (owner == Node)
                {
                    job.UnheldSince = null;
                    if (!await TakeAsync(job, cancellationToken))
                    {
                        await ClaimAsync(job, cancellationToken);
                    }
                }
                else if (Seen(job.Id, now) is null)
                {
                    // Nobody holds it: once that has lasted a TTL, its owner does not carry this job, and this node may.
                    job.UnheldSince ??= now;
                    if (now - job.UnheldSince > _membership.Ttl)
                    {
                        LogTakingUnclaimed(Node, job.Key, owner);
                        await TakeAsync(job, cancellationToken);
                    }
                }
                else
                {
                    job.UnheldSince = null;
                }
            }
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task RenewAsync(Job job, CancellationToken cancellationToken)
    {
        var sent = DateTime.UtcNow;
        try
        {
            var renewed = await _bucket.TryUpdateAsync(job.Id, Node, job.Revision, cancellationToken: cancellationToken);
            if (renewed.Success)
            {
                job.Confirm(renewed.Value, sent + Hold);
                return;
            }

            LogLeaseLost(Node, job.Key, renewed.Error.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogLeaseLost(Node, job.Key, e.Message);
        }

        job.Stop();
    }

    /// <summary>The node an entry (a lease or a claim) names, if the bucket wrote it less than a TTL ago.</summary>
    private string? Seen(string key, DateTimeOffset now) =>
        _seen.TryGetValue(key, out var entry) && now - entry.Written < _membership.Ttl ? entry.Node : null;

    /// <summary>Tells the holder of a job this node owns by rendezvous that it wants it (see the remarks).</summary>
    private async Task ClaimAsync(Job job, CancellationToken cancellationToken)
    {
        try
        {
            await _bucket.PutAsync(ClaimPrefix + job.Id, Node, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogTakeFailed(Node, job.Key, e.Message);
        }
    }

    /// <summary>Creates the lease (or takes this node's own back); true when the job started here.</summary>
    private async Task<bool> TakeAsync(Job job, CancellationToken cancellationToken)
    {
        var sent = DateTime.UtcNow;
        try
        {
            var created = await _bucket.TryCreateAsync(job.Id, Node, cancellationToken: cancellationToken);
            var revision = created.Success ? created.Value : 0UL;
            if (!created.Success)
            {
                // Held by someone: by this very node before a restart or a failed renewal, it is ours again by
                // compare-and-set on that revision; another node's lease we wait out (it hands it on, or it lapses).
                var held = await _bucket.TryGetEntryAsync<string>(job.Id, cancellationToken: cancellationToken);
                if (!held.Success || held.Value.Value != Node)
                {
                    return false;
                }

                var renewed = await _bucket.TryUpdateAsync(job.Id, Node, held.Value.Revision, cancellationToken: cancellationToken);
                if (!renewed.Success)
                {
                    return false;
                }

                revision = renewed.Value;
            }

            Interlocked.Increment(ref _moves);
            LogTaken(Node, job.Key, revision);
            job.Start(revision, sent + Hold, _log);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogTakeFailed(Node, job.Key, e.Message);
            return false;
        }
    }

    /// <summary>Stops the job, waits (at most a TTL) for it to end, then deletes the lease if it is still this node's.</summary>
    private async Task ReleaseAsync(Job job)
    {
        await job.Handoff;
        var revision = job.Revision;
        var ended = await job.StopAndWaitAsync(_membership.Ttl);
        if (revision == 0 || !ended)
        {
            // A job that does not end in time keeps its lease until it lapses: no second owner meanwhile.
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_membership.Period);
            try
            {
                await _bucket.DeleteAsync(job.Id, new NatsKVDeleteOpts { Revision = revision }, timeout.Token);
            }
            catch (Exception e) when (e is NatsKVException or NATS.Client.JetStream.NatsJSException)
            {
                // A renewal this node sent was stored but its answer not read (a round cut short by the stop): the lease
                // is still ours under a newer revision, so it is deleted under that one rather than left to lapse.
                var held = await _bucket.TryGetEntryAsync<string>(job.Id, cancellationToken: timeout.Token);
                if (held.Success && held.Value.Value == Node)
                {
                    await _bucket.DeleteAsync(job.Id, new NatsKVDeleteOpts { Revision = held.Value.Revision }, timeout.Token);
                }
            }
        }
        catch (Exception e)
        {
            LogReleaseFailed(Node, job.Key, e.Message);
        }
    }

    /// <summary>
    /// Keeps <see cref="_seen"/> (who holds and who claims what), and wakes the rounds on a lease deleted anywhere
    /// (handed on: its next owner takes it at once) and on a claim (its holder hands it on at once).
    /// </summary>
    private async Task WatchReleasesAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                _seen.Clear(); // a new watch begins with the bucket's present entries
                await foreach (var entry in _bucket.WatchAsync<string>(cancellationToken: cancellationToken))
                {
                    if (entry.Operation == NatsKVOperation.Put && entry.Value is { } node)
                    {
                        _seen[entry.Key] = (node, entry.Created);
                        if (entry.Key.StartsWith(ClaimPrefix, StringComparison.Ordinal))
                        {
                            _wake.Writer.TryWrite(true);
                        }
                    }
                    else
                    {
                        _seen.TryRemove(entry.Key, out _);
                        _wake.Writer.TryWrite(true);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRoundFailed(Node, e.Message);
                await Task.Delay(_membership.Period, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task UnregisterAsync(Job job)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return; // the node stopped first: every job was stopped and handed on then
        }

        // Out of the rounds first (none is under way while the gate is held), then stopped and handed on. A round is
        // bounded by a TTL; should the gate still not come, the job is taken out without it (at worst its lease lapses).
        bool gated;
        try
        {
            gated = await _round.WaitAsync(_membership.Ttl * 2);
        }
        catch (ObjectDisposedException)
        {
            return; // the node stopped meanwhile, as above
        }

        bool removed;
        try
        {
            removed = _jobs.TryRemove(new KeyValuePair<string, Job>(job.Key, job));
        }
        finally
        {
            if (gated)
            {
                _round.Release();
            }
        }

        if (removed)
        {
            await ReleaseAsync(job);
            job.Dispose();
        }
    }

    /// <summary>Graceful stop: every job stopped and its lease deleted, so the next owners take over at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await Task.WhenAll(_running, _watching).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        await Task.WhenAll(_jobs.Values.Select(ReleaseAsync));
        foreach (var job in _jobs.Values)
        {
            job.Dispose();
        }

        _jobs.Clear();
        _stopping.Dispose();
        _round.Dispose();
    }

    /// <summary>A registered job and, while this node owns it, its lease's revision and its run.</summary>
    private sealed class Job(string key, Func<CancellationToken, Task> body) : IDisposable
    {
        private readonly Lock _sync = new();
        private CancellationTokenSource? _owned;
        private Task _run = Task.CompletedTask;
        private ulong _revision;

        public string Key { get; } = key;

        /// <summary>The key in the lease bucket.</summary>
        public string Id { get; } = ClusterBuckets.Encode(key);

        /// <summary>Since when a round found nobody holding this job this node does not own (<see cref="JobLeases"/> remarks).</summary>
        public DateTimeOffset? UnheldSince { get; set; }

        /// <summary>The hand-on of the lease under way (a new owner chosen), or a completed task.</summary>
        public Task Handoff { get; set; } = Task.CompletedTask;

        /// <summary>Neither running nor being handed on: it may be taken (a job never runs twice on one node).</summary>
        public bool Idle
        {
            get
            {
                lock (_sync)
                {
                    return _revision == 0 && _run.IsCompleted && Handoff.IsCompleted;
                }
            }
        }

        /// <summary>Under a confirmed lease whose hold has not run out.</summary>
        public bool Running
        {
            get
            {
                lock (_sync)
                {
                    return _revision > 0 && _owned is { IsCancellationRequested: false };
                }
            }
        }

        /// <summary>The revision of this node's confirmed lease; 0 when it holds none.</summary>
        public ulong Revision
        {
            get
            {
                lock (_sync)
                {
                    return _revision;
                }
            }
        }

        public void Start(ulong revision, DateTime holdUntil, ILogger log)
        {
            lock (_sync)
            {
                _revision = revision;
                _owned?.Dispose(); // its run has ended: a job is taken only when idle
                _owned = new CancellationTokenSource();
                _owned.CancelAfter(Remaining(holdUntil));
                var token = _owned.Token;
                _run = Task.Run(
                    async () =>
                    {
                        try
                        {
                            await body(token);
                        }
                        catch (OperationCanceledException) when (token.IsCancellationRequested)
                        {
                        }
                        catch (Exception e)
                        {
                            log.LogError(e, "Job {Key} failed", Key);
                        }
                    },
                    CancellationToken.None);
            }
        }

        /// <summary>A renewal confirmed: the new revision, and the job's hold moved on.</summary>
        public void Confirm(ulong revision, DateTime holdUntil)
        {
            lock (_sync)
            {
                if (_owned is null || _owned.IsCancellationRequested)
                {
                    // The hold ran out while the renewal was on its way: the job has stopped; the lease lapses or is taken again.
                    _revision = 0;
                    return;
                }

                _revision = revision;
                _owned.CancelAfter(Remaining(holdUntil));
            }
        }

        public void Stop()
        {
            lock (_sync)
            {
                _revision = 0;
                _owned?.Cancel();
            }
        }

        /// <summary>Stops the job; true when it ended within <paramref name="timeout"/>.</summary>
        public async Task<bool> StopAndWaitAsync(TimeSpan timeout)
        {
            Task run;
            lock (_sync)
            {
                run = _run;
            }

            Stop();
            return await Task.WhenAny(run, Task.Delay(timeout)) == run;
        }

        public void Dispose()
        {
            lock (_sync)
            {
                _owned?.Dispose();
                _owned = null;
            }
        }

        private static TimeSpan Remaining(DateTime holdUntil)
        {
            var left = holdUntil - DateTime.UtcNow;
            return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
        }
    }

    private sealed class Registration(JobLeases owner, Job job) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await owner.UnregisterAsync(job);
    }

    [LoggerMessage(LogLevel.Information, "Cluster node {Node} took job {Key} (lease revision {Revision})")]
    private partial void LogTaken(string node, string key, ulong revision);

    [LoggerMessage(LogLevel.Information, "Cluster node {Node} takes job {Key}: its owner by rendezvous, {Owner}, has not taken it for a TTL (it does not carry the job)")]
    private partial void LogTakingUnclaimed(string node, string key, string owner);

    [LoggerMessage(LogLevel.Information, "Cluster node {Node} hands job {Key} on to {Owner}")]
    private partial void LogHandingOn(string node, string key, string owner);

    [LoggerMessage(LogLevel.Warning, "Cluster node {Node} lost the lease of job {Key} and stopped it ({Error})")]
    private partial void LogLeaseLost(string node, string key, string error);

    [LoggerMessage(LogLevel.Warning, "Cluster node {Node} could not take job {Key} ({Error})")]
    private partial void LogTakeFailed(string node, string key, string error);

    [LoggerMessage(LogLevel.Warning, "Cluster node {Node} could not release the lease of job {Key}; it lapses within the TTL ({Error})")]
    private partial void LogReleaseFailed(string node, string key, string error);

    [LoggerMessage(LogLevel.Warning, "Cluster node {Node}: lease round failed ({Error})")]
    private partial void LogRoundFailed(string node, string error);
}
