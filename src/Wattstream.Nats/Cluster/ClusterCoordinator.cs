using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Wattstream.Nats.Cluster;

/// <summary>A node's membership and its job leases, started together and stopped in the order that hands work on at once.</summary>
public sealed class ClusterCoordinator : IAsyncDisposable
{
    private ClusterCoordinator(ClusterMembership membership, JobLeases leases)
    {
        Membership = membership;
        Leases = leases;
    }

    public ClusterMembership Membership { get; }

    public JobLeases Leases { get; }

    public static Task<ClusterCoordinator> StartAsync(INatsConnection connection, string node, TimeSpan leaseTtl, ILogger log, CancellationToken cancellationToken) =>
        StartAsync(connection, node, leaseTtl, replicas: 1, log, cancellationToken);

    /// <summary>Joins the membership and starts the leases, both buckets at <paramref name="replicas"/> replicas (<c>Nats:Replicas</c>).</summary>
    public static async Task<ClusterCoordinator> StartAsync(INatsConnection connection, string node, TimeSpan leaseTtl, int replicas, ILogger log, CancellationToken cancellationToken)
    {
        var membership = await ClusterMembership.JoinAsync(connection, node, leaseTtl, replicas, log, cancellationToken);
        try
        {
            return new ClusterCoordinator(membership, await JobLeases.StartAsync(connection, membership, log, cancellationToken));
        }
        catch
        {
            await membership.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Leaves first, then releases the leases: when the others wake on the deleted leases, this node is no longer among
    /// the candidates, so each lease goes straight to its next owner.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await Membership.DisposeAsync();
        await Leases.DisposeAsync();
    }
}
