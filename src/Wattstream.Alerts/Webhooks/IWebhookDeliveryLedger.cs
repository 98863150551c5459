namespace Wattstream.Alerts.Webhooks;

/// <summary>
/// Cluster mode: where webhook deliveries are recorded, so that a site's next owner continues them — each webhook's
/// cursor per site (the id of the newest alert of the site the webhook has finished with: delivered or dead-lettered)
/// and the cluster's dead-letter list. A webhook is known by its <see cref="WebhookOptions.DisplayName"/>, so every node
/// carries the same <c>Alerts:Webhooks</c>. A single node has no ledger: its dispatcher keeps its dead letters in memory.
/// </summary>
public interface IWebhookDeliveryLedger
{
    /// <summary>This node's id, named in the dead letters it makes.</summary>
    string Node { get; }

    /// <summary>
    /// The newest alert id the cluster's stream held when this node started. A site no owner has recorded a cursor for
    /// yet (its alerts predate delivery cursors) starts after its alerts up to here: they are not sent again.
    /// </summary>
    long AlertsBeforeStart { get; }

    /// <summary>The webhook's cursor for the site; made at <paramref name="initial"/> when none is recorded yet.</summary>
    Task<long> CursorAsync(string webhook, string org, string site, long initial, CancellationToken cancellationToken);

    /// <summary>Moves the webhook's cursor for the site to <paramref name="id"/>, never back.</summary>
    Task AdvanceAsync(string webhook, string org, string site, long id, CancellationToken cancellationToken);

    /// <summary>Adds a dead letter to the cluster's list (bounded by <see cref="WebhookDeliveryOptions.DeadLetterCapacity"/>).</summary>
    Task AddDeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken);

    /// <summary>The cluster's dead letters as this node last read them, newest first.</summary>
    IReadOnlyList<DeadLetter> DeadLetters();
}
