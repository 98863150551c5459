namespace Wattstream.Hub.Jobs;

/// <summary>
/// A single node's jobs: every registered job is this node's and runs from registration until its registration is
/// disposed (or the node stops). Nothing is coordinated; this is what runs without <c>Nats:Cluster</c>.
/// </summary>
public sealed class LocalJobs : IJobOwnership, IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Registration, byte> _running = new();

    public string Node { get; }

    public LocalJobs(string node = "local") => Node = node;

    public IReadOnlyCollection<string> Owned => [.. _running.Keys.Select(r => r.Key).Order(StringComparer.Ordinal)];

    public Task<IAsyncDisposable> RunWhileOwnedAsync(string key, Func<CancellationToken, Task> job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(job);
        cancellationToken.ThrowIfCancellationRequested();
        var registration = new Registration(this, key);
        _running[registration] = 0;
        registration.Run = Task.Run(() => job(registration.Token), CancellationToken.None);
        return Task.FromResult<IAsyncDisposable>(registration);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var registration in _running.Keys)
        {
            await registration.DisposeAsync();
        }
    }

    private sealed class Registration(LocalJobs owner, string key) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private int _disposed;

        public string Key { get; } = key;

        public CancellationToken Token => _stop.Token;

        public Task Run { get; set; } = Task.CompletedTask;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            owner._running.TryRemove(this, out _);
            await _stop.CancelAsync();
            try
            {
                await Run;
            }
            catch (OperationCanceledException)
            {
                // The job ended because it was asked to.
            }
            finally
            {
                _stop.Dispose();
            }
        }
    }
}
