using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Wattstream.Nats.Cluster;

/// <summary>
/// Rendezvous (highest-random-weight) hashing: a job's owner is the node whose hash with the job's key weighs most. Every
/// node computes the same owner from the same node list, and a node joining or leaving moves only the jobs it wins or
/// held (about one n-th of them), never jobs between two other nodes.
/// </summary>
public static class Rendezvous
{
    /// <summary>The owner of <paramref name="key"/> among <paramref name="nodes"/>; null when there is no node.</summary>
    public static string? Owner(string key, IEnumerable<string> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        string? owner = null;
        var best = 0UL;
        foreach (var node in nodes)
        {
            var weight = Weight(key, node);
            // Ties (practically never) go to the smaller name, so every node picks the same one.
            if (owner is null || weight > best || (weight == best && string.CompareOrdinal(node, owner) < 0))
            {
                owner = node;
                best = weight;
            }
        }

        return owner;
    }

    /// <summary>The weight of a node for a key: stable across processes and versions (SHA-256, not string.GetHashCode).</summary>
    public static ulong Weight(string key, string node)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(node);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{node}\n{key}"), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }
}
