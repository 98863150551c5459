using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Wattstream.Nats.Cluster;

/// <summary>Opens a <see cref="SharedBucket{T}"/>.</summary>
public static class SharedBucket
{
    /// <summary>
    /// Creates the bucket (file storage, one revision per key, <paramref name="replicas"/> nats-servers) or opens it,
    /// loads it, and starts the watch. <paramref name="changed"/> hears every entry that comes or goes, this node's own
    /// writes and the first load included.
    /// </summary>
    public static async Task<SharedBucket<T>> OpenAsync<T>(
        INatsConnection connection,
        string name,
        int replicas,
        JsonTypeInfo<T> json,
        Action<string, T?>? changed,
        ILogger log,
        CancellationToken cancellationToken)
        where T : class
    {
        var kv = connection.CreateKeyValueStoreContext();
        var config = new NatsKVConfig(name)
        {
            History = 1,
            NumberOfReplicas = replicas,
            Storage = NatsKVStorageType.File,
            Description = "Wattstream shared configuration (docs/scaling.md)",
        };
        var store = await JetStreamApi.SetUpAsync(c => kv.CreateOrUpdateStoreAsync(config, c), cancellationToken);
        var bucket = new SharedBucket<T>(connection, store, json, changed, log);
        await bucket.LoadAsync(cancellationToken);
        return bucket;
    }

}

/// <summary>
/// Configuration every node of a cluster shares (API keys, alert rules): a KV bucket, held in memory on each node, loaded
/// at start and kept current by a watch, so a change made on any node is seen on every node as soon as the watch brings
/// it (well within a second). Entries are JSON; ids are <see cref="ClusterBuckets.Encode"/>d into keys. Deletions leave
/// the bucket's delete marker, which is what keeps <see cref="ImportAsync"/> from bringing a deleted entry back.
/// </summary>
public sealed class SharedBucket<T> : IAsyncDisposable
    where T : class
{
    private readonly INatsConnection _connection;
    private readonly INatsKVStore _bucket;
    private CancellationTokenSource? _round;
    private readonly JsonTypeInfo<T> _json;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ulong> _revisions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private ImmutableDictionary<string, T> _entries = ImmutableDictionary.Create<string, T>(StringComparer.Ordinal);
    private Task _watching = Task.CompletedTask;
    private int _disposed;

    internal SharedBucket(INatsConnection connection, INatsKVStore bucket, JsonTypeInfo<T> json, Action<string, T?>? changed, ILogger log)
    {
        _connection = connection;
        _bucket = bucket;
        _json = json;
        _log = log;
        Changed = changed;
    }

    /// <summary>The bucket's name.</summary>
    public string Name => _bucket.Bucket;

    /// <summary>Every entry by id, as this node last saw the bucket (an immutable snapshot: cheap to read often).</summary>
    public IReadOnlyDictionary<string, T> Entries => Volatile.Read(ref _entries);

    private Action<string, T?>? Changed { get; }

    internal async Task LoadAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in await ClusterBuckets.EntriesAsync(_bucket, cancellationToken))
        {
            Apply(entry.Key, entry.Value, entry.Revision);
        }

        _connection.ConnectionOpened += OnReconnectedAsync;
        _watching = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
    }

    // A watch can outlive the consumer it reads (a nats-server restarted), waiting for nothing: after a reconnect the
    // current round is ended, and the next one catches up from each key's latest entry.
    private ValueTask OnReconnectedAsync(object? sender, NatsEventArgs args)
    {
        try
        {
            Volatile.Read(ref _round)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// How long a write waits for the bucket: while NATS is away a write would wait for it to come back, and an API call
    /// should rather fail (a <see cref="NatsException"/>) than hang.
    /// </summary>
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Writes the entry (made or replaced); it is in <see cref="Entries"/> when this returns.</summary>
    public async Task PutAsync(string id, T value, CancellationToken cancellationToken = default)
    {
        var json = JsonSerializer.Serialize(value, _json);
        var revision = await WithinTimeoutAsync(token => _bucket.PutAsync(ClusterBuckets.Encode(id), json, cancellationToken: token), cancellationToken);
        Apply(ClusterBuckets.Encode(id), json, revision);
    }

    /// <summary>Deletes the entry (false when this node knows none of that id); gone from <see cref="Entries"/> when this returns.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!Entries.ContainsKey(id))
        {
            return false;
        }

        await WithinTimeoutAsync(
            async token =>
            {
                await _bucket.DeleteAsync(ClusterBuckets.Encode(id), cancellationToken: token);
                return true;
            },
            cancellationToken);
        Remove(id, revision: null);
        return true;
    }

    /// <summary>
    /// Brings entries from before cluster mode in, create-only: an id the bucket holds, or held and deleted, is left
    /// as it is, so importing again (every start, every node) changes nothing. Returns how many were new.
    /// </summary>
    public async Task<int> ImportAsync(IEnumerable<(string Id, T Value)> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var imported = 0;
        foreach (var (id, value) in entries)
        {
            var key = ClusterBuckets.Encode(id);
            var held = await _bucket.TryGetEntryAsync<string>(key, cancellationToken: cancellationToken);
            if (held.Success || held.Error is not NatsKVKeyNotFoundException)
            {
                continue; // there, or deleted (its delete marker): a revoked key is not brought back
            }

            var json = JsonSerializer.Serialize(value, _json);
            var created = await _bucket.TryCreateAsync(key, json, cancellationToken: cancellationToken);
            if (created.Success)
            {
                Apply(key, json, created.Value);
                imported++;
            }
        }

        return imported;
    }

    private async Task<TResult> WithinTimeoutAsync<TResult>(Func<CancellationToken, ValueTask<TResult>> write, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(WriteTimeout);
        try
        {
            return await write(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NatsException($"The shared bucket {Name} did not take the write within {WriteTimeout.TotalSeconds:0} s (is NATS there?).");
        }
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Volatile.Write(ref _round, round);
            try
            {
                // Each key's latest entry first (put or delete marker), then every change: a watch started again after
                // a lost connection catches up on what it missed; revisions already seen are skipped.
                await foreach (var entry in _bucket.WatchAsync<string>(cancellationToken: round.Token))
                {
                    if (entry.Operation == NatsKVOperation.Put)
                    {
                        Apply(entry.Key, entry.Value, entry.Revision);
                    }
                    else
                    {
                        Remove(ClusterBuckets.Decode(entry.Key), entry.Revision);
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _log.LogInformation("NATS reconnected: watching the shared bucket {Bucket} again", Name);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogWarning("Watching the shared bucket {Bucket} failed ({Error}); watching again", Name, e.Message);
            }
            finally
            {
                Interlocked.CompareExchange(ref _round, null, round);
            }

            // Not at once: a watch that keeps failing (NATS away) is tried again every second, not in a busy loop.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Apply(string key, string? json, ulong revision)
    {
        var id = ClusterBuckets.Decode(key);
        T? value = null;
        try
        {
            value = json is null ? null : JsonSerializer.Deserialize(json, _json);
        }
        catch (JsonException)
        {
        }

        if (value is null)
        {
            _log.LogWarning("Shared bucket {Bucket}: entry {Id} is not readable; skipped", Name, id);
            return;
        }

        lock (_gate)
        {
            if (_revisions.GetValueOrDefault(id) >= revision)
            {
                return; // this node's own write coming back, or a watch catching up
            }

            _revisions[id] = revision;
            _entries = _entries.SetItem(id, value);
        }

        Changed?.Invoke(id, value);
    }

    // revision null: this node's own delete, whose marker's revision the client does not return (the watch brings it).
    private void Remove(string id, ulong? revision)
    {
        lock (_gate)
        {
            if (revision is { } r)
            {
                if (_revisions.GetValueOrDefault(id) >= r)
                {
                    return;
                }

                _revisions[id] = r;
            }

            if (!_entries.ContainsKey(id))
            {
                return;
            }

            _entries = _entries.Remove(id);
        }

        Changed?.Invoke(id, null);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _connection.ConnectionOpened -= OnReconnectedAsync;
        await _stopping.CancelAsync();
        await _watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }
}
