using Wattstream.Hub.Jobs;
using Wattstream.Storage.Alerts;

namespace Wattstream.Alerts.Delivery;

/// <summary>
/// Cluster mode's alert log (the JetStream stream <c>ALERTS</c>): an alert raised on any node is appended here, its
/// stream sequence is its id on every node, and every node's <see cref="AlertFeed"/> takes the alerts back from it in
/// order (<see cref="AlertFeed.Deliver"/>). A site's alerts are evaluated, and its webhooks called, by the owner of the
/// job <c>site:{org}/{site}</c> alone. Without <c>Nats:Cluster</c> there is none: the store gives the ids.
/// </summary>
public interface IAlertStream
{
    /// <summary>Whose jobs are whose: a site's evaluation runs while this node owns <see cref="SiteJob"/>.</summary>
    IJobOwnership Jobs { get; }

    /// <summary>The alerts this node took from the stream, newest kept, for the REST list and resume older than the ring.</summary>
    IAlertStore History { get; }

    /// <summary>
    /// Appends an alert (<see cref="StoredAlert.Id"/> 0) under <paramref name="messageId"/>, so the same transition
    /// raised twice (two owners for a moment, a retry) is stored once; returns its sequence, the first one's for a duplicate.
    /// </summary>
    Task<long> AppendAsync(StoredAlert alert, string messageId, CancellationToken cancellationToken = default);

    /// <summary>Returns once every alert the stream held when called has been delivered to this node's feed.</summary>
    Task CatchUpAsync(CancellationToken cancellationToken = default);

    /// <summary>Drops each named org's oldest alerts from the stream beyond its newest <paramref name="keepPerOrg"/>.</summary>
    Task TrimAsync(int keepPerOrg, IReadOnlyCollection<string> orgs, CancellationToken cancellationToken = default);

    /// <summary>The job of a site's alerts.</summary>
    static string SiteJob(string org, string site) => $"site:{org}/{site}";
}
