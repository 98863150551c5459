using Microsoft.Extensions.Logging;
using Wattstream.Alerts.Evaluation;
using Wattstream.Hub;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;
using AlertSubscription = Wattstream.Hub.FeedSubscription<Wattstream.Alerts.Delivery.Alert>;

namespace Wattstream.Alerts.Delivery;

/// <summary>
/// Where every alert goes once, whoever raised it (the evaluator, or a client through <c>POST /api/alerts</c>): the
/// store gives it its id, the feed keeps the newest in a ring, knows which are firing, and offers each to every
/// subscriber — SSE and <c>/ws</c> clients, the NATS publisher and the webhooks alike. Resume (ring, then store)
/// lives here, once, for every transport.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim is only awaited (WaitAsync), so it never creates a wait handle to dispose.")]
public sealed class AlertFeed(IAlertStore store, ILogger<AlertFeed> logger)
{
    public const int RingCapacity = 1024;

    /// <summary>At most this many stored alerts are replayed to a resuming subscriber.</summary>
    public const int MaxReplay = 10_000;

    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Alert[] _ring = new Alert[RingCapacity];
    private readonly FeedSubscribers<Alert> _subscribers = new();
    private readonly Dictionary<(string Rule, string Org, string Site, string? Der), Alert> _active = [];
    private readonly HashSet<string> _orgsSinceCleanup = new(StringComparer.Ordinal);
    private int _ringStart;
    private int _ringCount;
    private long _lastId;
    private long _published;

    public IAlertStore Store => store;

    /// <summary>Alerts published since start.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Learns the newest stored id, so ids continue even while the store is away later.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var newest = await store.QueryAsync(new AlertQuery { NewestFirst = true, Limit = 1 }, cancellationToken);
        lock (_gate)
        {
            _lastId = Math.Max(_lastId, newest.Count > 0 ? newest[0].Id : 0);
        }
    }

    /// <summary>Stores the alert, then offers it to every subscriber; returns it with its id.</summary>
    public async Task<Alert> PublishAsync(AlertDraft draft, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var body = Alert.EncodeBody(draft);
        await _publishGate.WaitAsync(cancellationToken);
        try
        {
            long id;
            try
            {
                id = await store.AppendAsync(
                    new StoredAlert(0, draft.Rule, draft.Type, draft.State.ToWireName(), draft.Org, draft.Site, DerColumn(draft.Der), draft.Timestamp, body),
                    cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Delivered anyway: a store that is away must not silence alerts. The id continues the sequence.
                id = Interlocked.Read(ref _lastId) + 1;
                logger.LogWarning(e, "Alert store write failed; alert {Id} is delivered but not stored", id);
            }

            var alert = Alert.FromBody(id, draft.Rule, draft.Type, draft.State, draft.Org, draft.Site, draft.Der, draft.Timestamp, body);
            lock (_gate)
            {
                _lastId = Math.Max(_lastId, id);
                _ring[(_ringStart + _ringCount) % RingCapacity] = alert;
                if (_ringCount < RingCapacity)
                {
                    _ringCount++;
                }
                else
                {
                    _ringStart = (_ringStart + 1) % RingCapacity;
                }

                var key = (alert.Rule, alert.Org, alert.Site, alert.Der?.Subject);
                if (draft.Rule != ReportedRule)
                {
                    if (alert.State == AlertState.Firing)
                    {
                        _active[key] = alert;
                    }
                    else
                    {
                        _active.Remove(key);
                    }
                }

                _subscribers.Offer(alert);
                _orgsSinceCleanup.Add(alert.Org);
            }

            Interlocked.Increment(ref _published);
            return alert;
        }
        finally
        {
            _publishGate.Release();
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

    /// <summary>Live alerts from now on.</summary>
    public AlertSubscription Subscribe(Func<Alert, bool>? filter = null, int capacity = 1024)
    {
        lock (_gate)
        {
            return _subscribers.Add(filter, capacity, []); // under the feed's lock: in step with what it publishes
        }
    }

    /// <summary>
    /// The alerts after <paramref name="resumeAfter"/> (the ring's, then the store's for older ones), then live ones:
    /// nothing missed, nothing twice. <paramref name="stored"/> narrows the store's query the same way
    /// <paramref name="filter"/> narrows the rest (the caller's orgs and sites).
    /// </summary>
    public async Task<AlertSubscription> SubscribeAsync(Func<Alert, bool> filter, AlertQuery stored, long resumeAfter, int capacity = 1024, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(stored);
        List<Alert> replay = [];
        long rowsNewest = 0;
        long oldestInRing;
        lock (_gate)
        {
            oldestInRing = _ringCount == 0 ? long.MaxValue : _ring[_ringStart].Id;
        }

        if (resumeAfter < oldestInRing - 1)
        {
            // Older than the ring: the store has it (alerts are stored before they reach the ring). Past MaxReplay the
            // newest are replayed, so what follows from the ring joins on without a hole.
            var rows = await store.QueryAsync(stored with { AfterId = resumeAfter, Limit = MaxReplay, NewestFirst = true }, cancellationToken);
            replay.AddRange(rows.Reverse().Select(FromStored).Where(filter));
            rowsNewest = rows.Count > 0 ? rows[0].Id : 0;
        }

        var after = replay.Count > 0 ? Math.Max(resumeAfter, replay[^1].Id) : resumeAfter;
        if (resumeAfter < oldestInRing - 1)
        {
            // An alert stored while we read may reach the ring and the live set only after we join: it came with the
            // store's rows already, so the subscription skips live ids up to what the store gave.
            after = Math.Max(after, rowsNewest);
        }
        lock (_gate)
        {
            for (var i = 0; i < _ringCount; i++)
            {
                var alert = _ring[(_ringStart + i) % RingCapacity];
                if (alert.Id > after && filter(alert))
                {
                    replay.Add(alert);
                }
            }

            // Live ids up to `after` came with the replay already (see above).
            return _subscribers.Add(a => a.Id > after && filter(a), capacity, replay);
        }
    }

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
    public void CompleteAll() => _subscribers.CompleteAll();

    // "device/der": '/' is not a token character, so the two parts come back apart.
    private static string? DerColumn(DerAddress? der) => der is null ? null : $"{der.Device}/{der.Der}";
}
