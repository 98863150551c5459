namespace Wattstream.Hub.Jobs;

/// <summary>
/// Runs a job on exactly one node of the cluster. A job has a key (<c>source:{id}</c>, <c>site:{org}/{site}</c>); every
/// node that may run it registers it here, and the one node that owns it runs it. A single node runs
/// every job (<see cref="LocalJobs"/>); a cluster node runs the ones whose lease it holds (<c>Wattstream.Nats.Cluster.JobLeases</c>).
/// </summary>
public interface IJobOwnership
{
    /// <summary>This node's id.</summary>
    string Node { get; }

    /// <summary>The keys of the jobs this node runs now (it holds their confirmed leases).</summary>
    IReadOnlyCollection<string> Owned { get; }

    /// <summary>
    /// Registers a job: while this node owns <paramref name="key"/>, <paramref name="job"/> runs with a token that is
    /// cancelled the moment ownership ends (lease not renewed in time, a new owner chosen, shutdown). It may run, stop
    /// and run again as ownership comes and goes. Disposing the result stops it and hands the lease on at once.
    /// </summary>
    Task<IAsyncDisposable> RunWhileOwnedAsync(string key, Func<CancellationToken, Task> job, CancellationToken cancellationToken = default);
}
