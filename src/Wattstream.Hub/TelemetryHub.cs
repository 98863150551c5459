using System.Runtime.InteropServices;
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
/// </remarks>
public sealed class TelemetryHub
{
    private readonly Lock _gate = new();
    private readonly HubOptions _options;
    private readonly Dictionary<string, DerState> _ders = new(StringComparer.Ordinal);
    private readonly List<DerState> _derOrder = [];
    // A site's DERs, so a subscription to one site takes its last values without looking at every DER.
    private readonly Dictionary<(string Org, string Site), List<DerState>> _dersBySite = [];
    private readonly Dictionary<string, OrgState> _orgs = new(StringComparer.Ordinal);
    private readonly HubEvent?[] _ring;
    private readonly long _ringMask;
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
        var capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, _options.ReplayCapacity));
        _ring = new HubEvent?[capacity];
        _ringMask = capacity - 1;
        _epoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    /// <summary>
    /// Identifies the sequence event ids count in: the store's (kept across clean restarts, <see cref="ContinueAt"/>), this
    /// run's start time (epoch ms) without a store, or in cluster mode the shared log's identity. Event ids are only
    /// comparable within one epoch.
    /// </summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>Readings refused before they became events, by reason (this hub's DER limits count here; so does the push API).</summary>
    public ReadingRejections Rejections { get; } = new();

    /// <summary>The cluster's log, when readings made on this node go there first (<see cref="AttachLog"/>).</summary>
    public IReadingLog? Log => Volatile.Read(ref _log);

    /// <summary>
    /// Cluster mode: from now on readings published here go to <paramref name="log"/>, and events enter the hub only
    /// through <see cref="Deliver"/> with the log's sequence as their id, counted in <paramref name="epoch"/>. Every node
    /// of the cluster then gives the same reading the same id. Only before the first event.
    /// </summary>
    public void AttachLog(IReadingLog log, long epoch, long firstSequence)
    {
        ArgumentNullException.ThrowIfNull(log);
        lock (_gate)
        {
            StartAt(epoch, firstSequence, "A log can only be attached to a hub that has accepted nothing yet.");
            Volatile.Write(ref _log, log);
        }
    }

    /// <summary>
    /// Counts event ids on from an earlier run: <paramref name="firstSequence"/> in <paramref name="epoch"/> (the store's,
    /// which a clean stop kept), so ids given out before a restart stay positions in the same sequence. Only before the
    /// first event, and not in cluster mode (the log's sequence is the count there).
    /// </summary>
    public void ContinueAt(long epoch, long firstSequence)
    {
        lock (_gate)
        {
            StartAt(epoch, firstSequence, "A hub continues an earlier run's ids only before it has accepted anything, and never with a log attached.");
        }
    }

    /// <summary>The id the next accepted event gets (cluster mode: the sequence after the last one delivered).</summary>
    public long NextSequence
    {
        get
        {
            lock (_gate)
            {
                return _nextId;
            }
        }
    }

    private void StartAt(long epoch, long firstSequence, string refusal)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(firstSequence, 1);
        if (_accepted > 0 || _log is not null)
        {
            throw new InvalidOperationException(refusal);
        }

        _epoch = epoch;
        _nextId = firstSequence;
        _firstId = firstSequence;
    }

    /// <summary>How many events the replay ring keeps.</summary>
    public int ReplayCapacity => _ring.Length;

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

    /// <summary>
    /// Cluster mode: a reading the log delivers, with its sequence as the event id. Sequences only grow; one the hub has
    /// passed already (a consumer delivering again after a reconnect) is a duplicate. A sequence the hub skips (a message
    /// that was no reading) is simply no event.
    /// </summary>
    public PublishResult Deliver(Reading reading, long sequence)
    {
        ArgumentNullException.ThrowIfNull(reading);
        lock (_gate)
        {
            if (sequence < _nextId)
            {
                _duplicates++;
                return new PublishResult(PublishOutcome.Duplicate, null);
            }

            var result = Accept(reading, sequence);
            _nextId = sequence + 1; // a refused one too: that sequence is no event, on every node alike
            return result;
        }
    }

    // Under the lock: the reading becomes event `id` unless a limit or the de-duplication refuses it.
    private PublishResult Accept(Reading reading, long id)
    {
        if (!_ders.TryGetValue(reading.Der.Subject, out var der))
        {
            if (LimitReached(reading.Der.Org, newDers: 1, newDersOfOrg: 1, newSitesOfOrg: IsNewSite(reading.Der) ? 1 : 0) is { } limit)
            {
                Rejections.Count(RejectionReason.DerLimit);
                return new PublishResult(PublishOutcome.Rejected, null, limit);
            }

            der = new DerState(reading.Der, reading.Type, _options.DedupWindow);
            _ders.Add(reading.Der.Subject, der);
            _derOrder.Add(der);
            var site = CollectionsMarshal.GetValueRefOrAddDefault(_dersBySite, (reading.Der.Org, reading.Der.Site), out _) ??= [];
            site.Add(der);
            var org = CollectionsMarshal.GetValueRefOrAddDefault(_orgs, reading.Der.Org, out _) ??= new OrgState();
            org.Ders++;
            org.Sites.Add(reading.Der.Site);
        }

        if (!der.Remember(reading.Timestamp))
        {
            _duplicates++;
            return new PublishResult(PublishOutcome.Duplicate, null);
        }

        var hubEvent = new HubEvent(_epoch, id, reading);
        _nextId = id + 1;
        _ring[hubEvent.Id & _ringMask] = hubEvent;
        _accepted++;

        var outcome = PublishOutcome.Accepted;
        if (der.Last is null || reading.Timestamp >= der.Last.Reading.Timestamp)
        {
            der.Interval = der.Last is null ? null : TimeSpan.FromMilliseconds(reading.Timestamp - der.Last.Reading.Timestamp);
            der.Last = hubEvent;
            hubEvent.WasNewest = true;
        }
        else
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
            var added = new HashSet<string>(StringComparer.Ordinal);
            var addedPerOrg = new Dictionary<string, (int Ders, HashSet<string> Sites)>(StringComparer.Ordinal);
            foreach (var der in ders)
            {
                if (_ders.ContainsKey(der.Subject) || !added.Add(der.Subject))
                {
                    continue;
                }

                ref var org = ref CollectionsMarshal.GetValueRefOrAddDefault(addedPerOrg, der.Org, out var exists);
                if (!exists)
                {
                    org = (0, new HashSet<string>(StringComparer.Ordinal));
                }

                org.Ders++;
                if (IsNewSite(der))
                {
                    org.Sites.Add(der.Site);
                }

                if (LimitReached(der.Org, added.Count, org.Ders, org.Sites.Count) is { } limit)
                {
                    return limit;
                }
            }

            return null;
        }
    }

    // Under the lock: would adding these new DERs in all, and these new DERs and sites to the org, pass a limit?
    private string? LimitReached(string org, int newDers, int newDersOfOrg, int newSitesOfOrg)
    {
        var state = _orgs.GetValueOrDefault(org);
        if (_ders.Count + newDers > _options.MaxDers)
        {
            return $"the hub keeps at most {_options.MaxDers} DERs (Hub:MaxDers)";
        }

        if ((state?.Ders ?? 0) + newDersOfOrg > _options.MaxDersPerOrg)
        {
            return $"organisation '{org}' may have at most {_options.MaxDersPerOrg} DERs (Hub:MaxDersPerOrg)";
        }

        return (state?.Sites.Count ?? 0) + newSitesOfOrg > _options.MaxSitesPerOrg
            ? $"organisation '{org}' may have at most {_options.MaxSitesPerOrg} sites (Hub:MaxSitesPerOrg)"
            : null;
    }

    private bool IsNewSite(DerAddress der) => !(_orgs.GetValueOrDefault(der.Org)?.Sites.Contains(der.Site) ?? false);

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
        var subscription = new HubSubscription(this, pattern, options.QueueCapacity ?? _options.SubscriberQueueCapacity, options.Filter, options.Dropped);
        lock (_gate)
        {
            if (options.ResumeAfter is { } after)
            {
                var (replay, resume) = CollectReplay(pattern, after, options.Filter);
                subscription.SetReplay(replay, resume, _nextId - 1);
            }
            else if (options.StartWithLastValues)
            {
                // Taken under the publish lock, so no event falls between the last values and the live ones.
                subscription.SetInitial(CollectLastValues(pattern, options.Filter));
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

    /// <summary>Ends every subscription (their readers see the end of the stream), e.g. at shutdown.</summary>
    public void CompleteAll()
    {
        HubSubscription[] all;
        lock (_gate)
        {
            all = [.. _subscriptions.All()];
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
            return _ders.TryGetValue(der.Subject, out var state) ? state.Last : null;
        }
    }

    /// <summary>The newest event of every DER whose subject matches.</summary>
    public IReadOnlyList<HubEvent> GetLast(SubjectPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var result = new List<HubEvent>();
        lock (_gate)
        {
            foreach (var state in _ders.Values)
            {
                if (state.Last is { } last && pattern.Matches(state.Address.Subject))
                {
                    result.Add(last);
                }
            }
        }

        return result;
    }

    /// <summary>Every DER seen so far, in the order first seen.</summary>
    public IReadOnlyList<(DerAddress Address, DerType Type)> Ders
    {
        get
        {
            lock (_gate)
            {
                return _derOrder.Select(d => (d.Address, d.Type)).ToArray();
            }
        }
    }

    /// <summary>The time between a DER's last two in-order readings: its reporting interval as observed.</summary>
    public TimeSpan? ObservedInterval(DerAddress der)
    {
        ArgumentNullException.ThrowIfNull(der);
        lock (_gate)
        {
            return _ders.TryGetValue(der.Subject, out var state) ? state.Interval : null;
        }
    }

    public HubCounters Counters
    {
        get
        {
            lock (_gate)
            {
                return new HubCounters(_accepted, _duplicates, _outOfOrder, _nextId - 1, _subscriptions.Count, _ders.Count, _droppedByUnsubscribed, Rejections[RejectionReason.DerLimit]);
            }
        }
    }

    private HubEvent[] CollectLastValues(SubjectPattern pattern, Func<HubEvent, bool>? filter)
    {
        var last = new List<HubEvent>();
        var candidates = pattern.LiteralSite is { } site ? _dersBySite.GetValueOrDefault(site) ?? [] : _derOrder;
        foreach (var der in candidates)
        {
            if (der.Last is { } e && pattern.Matches(e.Subject) && (filter is null || filter(e)))
            {
                last.Add(e);
            }
        }

        return last.ToArray();
    }

    private (HubEvent[] Replay, ResumeResult Resume) CollectReplay(SubjectPattern pattern, long after, Func<HubEvent, bool>? filter)
    {
        var last = _nextId - 1;
        var oldest = Math.Max(_firstId, last - _ring.Length + 1);
        var resume = ResumeResult.Complete;
        if (after > last || after < oldest - 1)
        {
            // From the future (another run) or from before what the ring holds: say so and replay what is left.
            resume = ResumeResult.TooOld;
            after = oldest - 1;
        }

        var replay = new List<HubEvent>();
        for (var id = after + 1; id <= last; id++)
        {
            // In cluster mode ids are the log's sequences, which can skip (a message that was no reading): such a slot
            // holds nothing or an older event.
            var e = _ring[id & _ringMask];
            if (e is not null && e.Id == id && pattern.Matches(e.Subject) && (filter is null || filter(e)))
            {
                replay.Add(e);
            }
        }

        return (replay.ToArray(), resume);
    }

    private sealed class OrgState
    {
        public int Ders { get; set; }

        public HashSet<string> Sites { get; } = new(StringComparer.Ordinal);
    }

    private sealed class DerState
    {
        // The newest timestamp, and a small ring of recent ones: readings mostly arrive in order, so a reading newer
        // than the newest is new without a look-up, and only an out-of-order one is compared with the ring.
        private readonly long[] _recent;
        private int _next;
        private int _count;
        private long _newest = long.MinValue;
        private HubSubscription[] _matching = [];
        private int _matchingVersion = -1;

        public DerState(DerAddress address, DerType type, int window)
        {
            Address = address;
            Type = type;
            _recent = new long[window];
        }

        public DerAddress Address { get; }

        public DerType Type { get; }

        public TimeSpan? Interval { get; set; }

        public HubEvent? Last { get; set; }

        /// <summary>False when the timestamp was seen within the window (a duplicate).</summary>
        public bool Remember(long timestamp)
        {
            if (timestamp <= _newest && Array.IndexOf(_recent, timestamp, 0, _count) >= 0)
            {
                return false;
            }

            _newest = Math.Max(_newest, timestamp);
            _recent[_next] = timestamp;
            _next = (_next + 1) % _recent.Length;
            _count = Math.Min(_count + 1, _recent.Length);
            return true;
        }

        public HubSubscription[] MatchingSubscriptions(SubscriptionIndex all, int version)
        {
            if (_matchingVersion != version)
            {
                _matching = all.Match(Address.Subject);
                _matchingVersion = version;
            }

            return _matching;
        }
    }
}
