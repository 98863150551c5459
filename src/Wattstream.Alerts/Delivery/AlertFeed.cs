using Microsoft.Extensions.Logging;
using Wattstream.Alerts.Evaluation;
using Wattstream.Hub;
using Wattstream.Hub.Feeds;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Delivery;

/// <summary>
/// Where every alert goes once, whoever raised it (the evaluator, or a client through <c>POST /api/alerts</c>): the
/// store gives it its id, then the feed of alerts (a feed of events: its ring for resuming clients) offers it to every
/// subscriber — SSE and <c>/ws</c> clients, the NATS publisher and the webhooks alike; this also knows which are firing.
/// Resume (ring, then store) is the streaming core's, as for every feed. In cluster mode (<paramref name="stream"/>) an
/// alert goes to the cluster's stream instead, which gives its id and brings it back to every node's feed
/// (<see cref="Deliver"/>); what the stream delivered is kept by <see cref="IAlertStream.History"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim is only awaited (WaitAsync), so it never creates a wait handle to dispose.")]
public sealed class AlertFeed(IAlertStore store, ILogger<AlertFeed> logger, IAlertStream? stream = null)
{
    public const int RingCapacity = 1024;

    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Feed<Alert> _feed = Hub.Feeds.Feed.OfEvents<Alert>(RingCapacity);
    private readonly Dictionary<(string Rule, string Org, string Site, string? Der), Alert> _active = [];
    private readonly Dictionary<(string Rule, string Org, string Site, string? Der), (DerAddress Der, long At)> _lastFired = [];
    private readonly Dictionary<(string Org, string Site), long> _newestTransition = [];
    private readonly HashSet<string> _orgsSinceCleanup = new(StringComparer.Ordinal);
    private long _published;

    public IAlertStore Store => store;

    /// <summary>Where raised alerts are read (the REST list, resume older than the ring): the store, or in cluster mode what this node took from the stream.</summary>
    public IAlertStore History => stream?.History ?? store;

    /// <summary>The cluster's alert stream; null on a single node.</summary>
    public IAlertStream? Stream => stream;

    /// <summary>The feed of alerts: ids are the store's (the stream's in cluster mode), so a client resumes across restarts (and nodes).</summary>
    public Feed<Alert> Feed => _feed;

    /// <summary>Alerts published since start.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Learns the newest stored id, so ids continue even while the store is away later.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (stream is not null)
        {
            return; // the stream's sequences are the ids
        }

        var newest = await store.QueryAsync(new AlertQuery { NewestFirst = true, Limit = 1 }, cancellationToken);
        _feed.ContinueAfter(newest.Count > 0 ? newest[0].Id : 0);
    }

    /// <summary>Stores the alert, then offers it to every subscriber; returns it with its id.</summary>
    public async Task<Alert> PublishAsync(AlertDraft draft, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var body = Alert.EncodeBody(draft);
        var row = new StoredAlert(0, draft.Rule, draft.Type, draft.State.ToWireName(), draft.Org, draft.Site, DerColumn(draft.Der), draft.Timestamp, body);
        if (stream is not null)
        {
            // No fallback id here: an id is a stream sequence, and the alert reaches the feeds only through the stream.
            var sequence = await stream.AppendAsync(row, MessageId(draft), cancellationToken);
            Interlocked.Increment(ref _published);
            return Alert.FromBody(sequence, draft.Rule, draft.Type, draft.State, draft.Org, draft.Site, draft.Der, draft.Timestamp, body);
        }

        await _publishGate.WaitAsync(cancellationToken);
        try
        {
            long id;
            try
            {
                id = await store.AppendAsync(row, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Delivered anyway: a store that is away must not silence alerts. The id continues the sequence.
                id = _feed.LastId + 1;
                logger.LogWarning(e, "Alert store write failed; alert {Id} is delivered but not stored", id);
            }

            var alert = Alert.FromBody(id, draft.Rule, draft.Type, draft.State, draft.Org, draft.Site, draft.Der, draft.Timestamp, body);
            Offer(alert);
            Interlocked.Increment(ref _published);
            return alert;
        }
        finally
        {
            _publishGate.Release();
        }
    }

    /// <summary>Cluster mode: an alert the stream gave back (raised on any node, with its sequence as id), in stream order.</summary>
    public Alert Deliver(StoredAlert row)
    {
        var alert = FromStored(row);
        Offer(alert);
        return alert;
    }

    /// <summary>
    /// What the alerts published so far say of one site's targets: each (rule, DER) announced, whether it is firing,
    /// and when it last fired — the evaluation state a node taking the site over starts from.
    /// </summary>
    public IReadOnlyList<(string Rule, DerAddress Der, bool Firing, long LastFiredAt)> Targets(string org, string site)
    {
        lock (_gate)
        {
            return [.. _lastFired
                .Where(t => t.Key.Org == org && t.Key.Site == site)
                .Select(t => (t.Key.Rule, t.Value.Der, _active.ContainsKey(t.Key), t.Value.At))];
        }
    }

    /// <summary>Cluster mode: the reading time of the newest transition the stream holds for the site (null: none).</summary>
    public long? NewestTransition(string org, string site)
    {
        lock (_gate)
        {
            return _newestTransition.TryGetValue((org, site), out var at) ? at : null;
        }
    }

    /// <summary>The <c>Nats-Msg-Id</c> of a transition: rule, DER, state and time, so the same transition is stored once.</summary>
    public static string MessageId(AlertDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var id = $"alert:{draft.Rule}:{draft.Org}/{draft.Site}/{draft.Der?.Device}/{draft.Der?.Der}:{draft.State.ToWireName()}:{draft.Timestamp}";
        // Reports are no evaluation two nodes could repeat: two of the same millisecond are two alerts.
        return draft.Rule == ReportedRule ? $"{id}:{Guid.NewGuid():N}" : id;
    }

    private void Offer(Alert alert)
    {
        lock (_gate)
        {
            var key = (alert.Rule, alert.Org, alert.Site, alert.Der?.Subject);
            if (alert.Rule != ReportedRule)
            {
                if (stream is not null)
                {
                    var site = (alert.Org, alert.Site);
                    _newestTransition[site] = Math.Max(_newestTransition.GetValueOrDefault(site), alert.Timestamp);
                }

                if (alert.State == AlertState.Firing)
                {
                    _active[key] = alert;
                    if (stream is not null && alert.Der is { } der)
                    {
                        _lastFired[key] = (der, alert.Timestamp); // cluster mode only: for a takeover's repeat window
                    }
                }
                else
                {
                    _active.Remove(key);
                }
            }

            _feed.Publish(alert);
            _orgsSinceCleanup.Add(alert.Org);
        }
    }

    /// <summary>The rule name of alerts reported by clients (the seed's browser-side <c>PowerAlert</c>).</summary>
    public const string ReportedRule = "reported";

    /// <summary>Alerts firing now (announced and not yet resolved) that <paramref name="filter"/> lets through.</summary>
    public IReadOnlyList<Alert> Active(Func<Alert, bool> filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_gate)
        {
            return [.. _active.Values.Where(filter).OrderBy(a => a.Id)];
        }
    }

    /// <summary>The orgs that published alerts since the last call: those whose stored alerts may have grown past their bound.</summary>
    public string[] TakeOrgsPublished()
    {
        lock (_gate)
        {
            string[] orgs = [.. _orgsSinceCleanup];
            _orgsSinceCleanup.Clear();
            return orgs;
        }
    }

    /// <summary>Live alerts from now on (the webhooks, the NATS publisher).</summary>
    public DropOldestQueue<Alert> Subscribe(Func<Alert, bool>? filter = null, int capacity = 1024) => _feed.Subscribe(filter, capacity);

    /// <summary>The alert a stored row holds.</summary>
    public static Alert FromStored(StoredAlert row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var state = AlertStates.TryParse(row.State, out var parsed) ? parsed : AlertState.Firing;
        DerAddress? der = null;
        if (row.Der?.Split('/') is [var device, var derId] && DerAddress.TryCreate(row.Org, row.Site, device, derId, out var address))
        {
            der = address;
        }

        return Alert.FromBody(row.Id, row.Rule, row.Type, state, row.Org, row.Site, der, row.Timestamp, row.Body);
    }

    /// <summary>Ends every subscription (shutdown).</summary>
    public void CompleteAll() => _feed.CompleteAll();

    // "device/der": '/' is not a token character, so the two parts come back apart.
    private static string? DerColumn(DerAddress? der) => der is null ? null : $"{der.Device}/{der.Der}";
}
