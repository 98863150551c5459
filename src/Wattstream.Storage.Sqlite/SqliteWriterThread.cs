using System.Collections.Concurrent;

namespace Wattstream.Storage.Sqlite;

/// <summary>
/// The one thread that runs the store's writes. SQLite's calls block (a commit with its fsync, a WAL checkpoint, a
/// retention delete of millions of rows), so they run here and not on the thread pool: on a small host the pool has a
/// thread or two per core and adds more only slowly, and every stream's delivery waits behind a pool thread held by
/// SQLite (scenario (f) in docs/benchmarks.md). Jobs run one at a time, in order, which is also what keeps the single
/// writer connection to one caller.
/// </summary>
internal sealed class SqliteWriterThread : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = [];
    private readonly Thread _thread;

    public SqliteWriterThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the writer thread; its result or exception completes the task.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        // The caller's continuation must not run on the writer thread (it would run there until its next await).
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _jobs.Add(() =>
            {
                try
                {
                    done.SetResult(work());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(SqliteReadingStore)));
        }

        return done.Task;
    }

    private void Run()
    {
        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            job();
        }
    }

    /// <summary>Runs what was queued, then ends the thread.</summary>
    public void Dispose()
    {
        _jobs.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _jobs.Dispose();
    }
}
