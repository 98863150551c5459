using System.Globalization;
using System.Text;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// The JetStream key-value buckets the cluster coordinates through. Each keeps one revision per key and forgets an entry
/// <c>Nats:LeaseTtl</c> after its last write, so a node that stops writing (killed, cut off) disappears by itself.
/// </summary>
public static class ClusterBuckets
{
    /// <summary>One entry per live node, written as its heartbeat.</summary>
    public const string Nodes = "wattstream_nodes";

    /// <summary>One entry per owned job: the owner's node id, written (compare-and-set) as the lease's renewal.</summary>
    public const string Leases = "wattstream_leases";

    /// <summary>One entry per running source: its owner's view of it (status, counters), written on change and every second.</summary>
    public const string Sources = "wattstream_sources";

    /// <summary>Creates the bucket at one replica or brings its TTL up to date.</summary>
    public static Task<INatsKVStore> OpenAsync(INatsConnection connection, string bucket, TimeSpan ttl, CancellationToken cancellationToken) =>
        OpenAsync(connection, bucket, ttl, replicas: 1, cancellationToken);

    /// <summary>
    /// Creates the bucket or brings its TTL up to date (file storage: a lease survives a nats-server restart), at
    /// <c>Nats:Replicas</c> replicas, so on a clustered NATS coordination outlives one server as the readings do.
    /// </summary>
    public static async Task<INatsKVStore> OpenAsync(INatsConnection connection, string bucket, TimeSpan ttl, int replicas, CancellationToken cancellationToken)
    {
        var kv = connection.CreateKeyValueStoreContext();
        var config = new NatsKVConfig(bucket)
        {
            History = 1,
            MaxAge = ttl,
            Storage = NatsKVStorageType.File,
            NumberOfReplicas = replicas,
            Description = "Wattstream cluster coordination (docs/scaling.md)",
        };
        return await JetStreamApi.SetUpAsync(c => kv.CreateOrUpdateStoreAsync(config, c), cancellationToken);
    }

    /// <summary>
    /// A job key or node id as a KV key: KV keys allow only <c>A-Z a-z 0-9 - _ / = .</c>, so every other byte (and
    /// <c>=</c> and <c>.</c>) is written <c>=XX</c>: <c>source:meter-1</c> is <c>source=3Ameter-1</c>.
    /// </summary>
    public static string Encode(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var text = new StringBuilder(key.Length);
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/')
            {
                text.Append(c);
            }
            else
            {
                text.Append('=').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    /// <summary>The job key or node id a KV key stands for (<see cref="Encode"/> undone).</summary>
    public static string Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '=' && i + 2 < encoded.Length && byte.TryParse(encoded.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)encoded[i]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>How long reading a bucket's entries may take.</summary>
    private static readonly TimeSpan ListingTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Every live entry of a bucket with its value and the time of its last write (server time).</summary>
    /// <remarks>
    /// Read with a watch of the present values that ends at the end of the data, deletions included. Not
    /// <c>GetKeysAsync</c>: a listing that skips delete markers waited on forever when the newest entry was one (a node
    /// that had left gracefully), which hung a lease round and with it a node's shutdown (seen in a hang dump).
    /// </remarks>
    public static async Task<IReadOnlyList<NatsKVEntry<string>>> EntriesAsync(INatsKVStore bucket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        var latest = new Dictionary<string, NatsKVEntry<string>>(StringComparer.Ordinal);
        using var listing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        listing.CancelAfter(ListingTimeout);
        var opts = new NatsKVWatchOpts { OnNoData = _ => ValueTask.FromResult(true) };
        await foreach (var entry in bucket.WatchAsync<string>(opts: opts, cancellationToken: listing.Token))
        {
            if (entry.Operation == NatsKVOperation.Put && entry.Value is not null)
            {
                latest[entry.Key] = entry;
            }
            else
            {
                latest.Remove(entry.Key);
            }

            if (entry.Delta == 0)
            {
                break; // the newest entry: the present is read
            }
        }

        return [.. latest.Values];
    }
}
