using Microsoft.Extensions.Options;
using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// The in-process hub every reading passes through: it drops duplicates, gives each accepted reading an event id,
/// keeps the last value per DER and a replay ring, and offers the event to every matching subscriber's queue.
/// </summary>
/// <remarks>
/// Publishing is serialised by one lock that only publishers and (rarely) subscribe/unsubscribe take; subscribers read
/// their own queues and never take it. Holding it while offering keeps every subscriber's events in id order, which
/// resume depends on. Offering never waits: a full queue drops its oldest event. Which subscribers match a DER is
/// cached per DER and recomputed only when the set of subscriptions changes.
/// <para>
/// The parts it composes, all used under that lock: <see cref="LastValues"/> (the DERs and their state, with each DER's
/// <see cref="DuplicateWindow"/>), <see cref="ReplayRing"/>, <see cref="OrgQuotas"/>. Where event ids start and the cluster
/// seam (ids from the log) are in TelemetryHub.EventIds.cs.
/// </para>
/// </remarks>
public sealed partial class TelemetryHub
{
    private readonly Lock _gate = new();
    private readonly HubOptions _options;
    private readonly LastValues _lastValues = new();
    private readonly OrgQuotas _quotas;
    private readonly ReplayRing _ring;
    // An index, not an array copied on every change: a burst of 10 000 reconnects is 20 000 changes. The array each DER
    // offers to is built from it on that DER's next publish after a change, by walking the subject's tokens.
    private readonly SubscriptionIndex _subscriptions = new();
    private int _subscriptionsVersion;
    private long _nextId = 1;
    private long _firstId = 1;
    private long _epoch;
    private IReadingLog? _log;
    private long _accepted;
    private long _duplicates;
    private long _outOfOrder;
    private long _droppedByUnsubscribed;

    public TelemetryHub(IOptions<HubOptions> options)
        : this(options?.Value ?? new HubOptions())
    {
    }

    public TelemetryHub(HubOptions? options = null)
    {
        _options = options ?? new HubOptions();
        _quotas = new OrgQuotas(_options);
        _ring = new ReplayRing(_options.ReplayCapacity);
        _epoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    /// <summary>Readings refused before they became events, by reason (this hub's DER limits count here; so does the push API).</summary>
    public ReadingRejections Rejections { get; } = new();

    /// <summary>How many events the replay ring keeps.</summary>
    public int ReplayCapacity => _ring.Capacity;

    /// <summary>
    /// Accepts a reading, unless it duplicates one already accepted, and offers it to the matching subscribers. In cluster
    /// mode the reading goes to the log instead (<see cref="PublishOutcome.Forwarded"/>) and comes back through
    /// <see cref="Deliver"/> on every node.
    /// </summary>
    public PublishResult Publish(Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (Log is { } log)
        {
            log.Append(reading);
            return new PublishResult(PublishOutcome.Forwarded, null);
        }

        lock (_gate)
        {
            return Accept(reading, _nextId);
        }
    }

    /// <summary>
    /// <see cref="Publish"/> for a caller that wants the outcome, e.g. the push API: in cluster mode it waits for the log
    /// to store the reading and answers with its sequence (or that the log had it already).
    /// </summary>
    public ValueTask<PublishResult> PublishAsync(Reading reading, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reading);
        return Log is { } log ? log.AppendAsync(reading, cancellationToken) : ValueTask.FromResult(Publish(reading));
    }

    // Under the lock: the reading becomes event `id` unless a limit or the de-duplication refuses it.
    private PublishResult Accept(Reading reading, long id)
    {
        if (!_lastValues.TryGet(reading.Der, out var der))
        {
            if (_quotas.Admit(reading.Der) is { } limit)
            {
                Rejections.Count(RejectionReason.DerLimit);
                return new PublishResult(PublishOutcome.Rejected, null, limit);
            }

            der = _lastValues.Add(reading.Der, reading.Type, _options.DedupWindow);
        }

        if (!der.Remember(reading.Timestamp))
        {
            _duplicates++;
            return new PublishResult(PublishOutcome.Duplicate, null);
        }

        var hubEvent = new HubEvent(_epoch, id, reading);
        _nextId = id + 1;
        _ring.Add(hubEvent);
        _accepted++;

        var outcome = PublishOutcome.Accepted;
        if (!der.TakeIfNewest(hubEvent))
        {
            _outOfOrder++;
            outcome = PublishOutcome.AcceptedOutOfOrder;
        }

        foreach (var subscription in der.MatchingSubscriptions(_subscriptions, _subscriptionsVersion))
        {
            subscription.Offer(hubEvent);
        }

        return new PublishResult(outcome, hubEvent);
    }

    /// <summary>
    /// Whether readings of <paramref name="ders"/> would be refused by the hub's limits (the number of DERs in all and per
    /// organisation, of sites per organisation): the limit that would be passed, or null. For callers that want all of a
    /// batch or nothing (the push API); <see cref="Publish"/> checks again, one reading at a time.
    /// </summary>
    public string? CheckLimits(IEnumerable<DerAddress> ders)
    {
        ArgumentNullException.ThrowIfNull(ders);
        lock (_gate)
        {
            return _quotas.Check(ders.Where(der => !_lastValues.Contains(der)));
        }
    }

    /// <summary>Events waiting in every subscription's queue (read at a scrape, not on the delivery path).</summary>
    public long SubscriberBacklog()
    {
        lock (_gate)
        {
            long total = 0;
            foreach (var subscription in _subscriptions.All())
            {
                total += subscription.Backlog;
            }

            return total;
        }
    }

    /// <summary>Subscribes to every event whose subject matches <paramref name="pattern"/>.</summary>
    public HubSubscription Subscribe(SubjectPattern pattern, SubscribeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        options ??= new SubscribeOptions();
        var subscription = new HubSubscription(this, pattern, options.QueueCapacity ?? _options.SubscriberQueueCapacity, options.Filter, options.Dropped)
        {
            EndedBySubscriber = options.EndedBySubscriber,
        };
        lock (_gate)
        {
            if (options.ResumeAfter is { } after)
            {
                var (replay, resume) = _ring.Replay(pattern, after, _firstId, _nextId - 1, options.Filter);
                subscription.SetReplay(replay, resume, _nextId - 1);
            }
            else if (options.StartWithLastValues)
            {
                // Taken under the publish lock, so no event falls between the last values and the live ones.
                subscription.SetInitial(_lastValues.Snapshot(pattern, options.Filter));
            }

            _subscriptions.Add(subscription);
            _subscriptionsVersion++;
        }

        return subscription;
    }

    public HubSubscription Subscribe(string pattern, SubscribeOptions? options = null) => Subscribe(SubjectPattern.Parse(pattern), options);

    internal void Unsubscribe(HubSubscription subscription)
    {
        lock (_gate)
        {
            if (!_subscriptions.Remove(subscription))
            {
                return;
            }

            _subscriptionsVersion++;
            _droppedByUnsubscribed += subscription.Dropped;
        }
    }

    /// <summary>
    /// Ends every subscription (their readers see the end of the stream), e.g. at shutdown, but those whose subscriber
    /// ends them (<see cref="SubscribeOptions.EndedBySubscriber"/>): what is published after this still reaches them.
    /// </summary>
    public void CompleteAll()
    {
        HubSubscription[] all;
        lock (_gate)
        {
            all = [.. _subscriptions.All().Where(s => !s.EndedBySubscriber)];
        }

        foreach (var s in all)
        {
            s.Complete();
        }
    }

    /// <summary>The newest accepted event of a DER (by reading time), if any.</summary>
    public HubEvent? GetLast(DerAddress der)
    {
        ArgumentNullException.ThrowIfNull(der);
        lock (_gate)
        {
            return _lastValues.TryGet(der, out var state) ? state.Last : null;
        }
    }

    /// <summary>The newest event of every DER whose subject matches.</summary>
    public IReadOnlyList<HubEvent> GetLast(SubjectPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        lock (_gate)
        {
            return _lastValues.Matching(pattern);
        }
    }

    /// <summary>Every DER seen so far, in the order first seen.</summary>
    public IReadOnlyList<(DerAddress Address, DerType Type)> Ders
    {
        get
        {
            lock (_gate)
            {
                return _lastValues.Ders();
            }
        }
    }

    /// <summary>The time between a DER's last two in-order readings: its reporting interval as observed.</summary>
    public TimeSpan? ObservedInterval(DerAddress der)
    {
        ArgumentNullException.ThrowIfNull(der);
        lock (_gate)
        {
            return _lastValues.TryGet(der, out var state) ? state.Interval : null;
        }
    }

    public HubCounters Counters
    {
        get
        {
            lock (_gate)
            {
                return new HubCounters(_accepted, _duplicates, _outOfOrder, _nextId - 1, _subscriptions.Count, _lastValues.Count, _droppedByUnsubscribed, Rejections[RejectionReason.DerLimit]);
            }
        }
    }
}
