using Wattstream.Hub.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Hub.Status;

/// <summary>
/// The current status of every DER: when it was last seen and whether it is delivering. Readings mark a DER
/// <see cref="ConnectionStatus.Connected"/>; <see cref="Sweep"/> marks silent ones <see cref="ConnectionStatus.Stale"/>;
/// sources set the rest (connecting, auth failed, …). Subscribers get every change, after a snapshot of the present.
/// </summary>
/// <remarks>
/// Status is state, not a sample: a client wants the present at connect and then the changes, so the board is a feed of
/// state (the present per DER, then every change) rather than events in the hub's replay ring among the readings.
/// </remarks>
public sealed class StatusBoard
{
    private readonly Lock _gate = new();
    private readonly Feed<DerStatus> _feed = Feeds.Feed.OfState<DerStatus>(s => s.Der);
    private long _version;

    private readonly TimeProvider _time;

    public StatusBoard(Microsoft.Extensions.Options.IOptions<StatusOptions> options, TimeProvider time)
        : this(options?.Value.StaleAfter ?? throw new ArgumentNullException(nameof(options)), time)
    {
    }

    public StatusBoard(TimeSpan staleAfter, TimeProvider? time = null)
    {
        StaleAfter = staleAfter;
        _time = time ?? TimeProvider.System;
    }

    public TimeSpan StaleAfter { get; }

    /// <summary>A reading arrived: the DER is connected and was seen at <paramref name="at"/>.</summary>
    public void ReadingSeen(DerAddress der, DerType type, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(der);
        lock (_gate)
        {
            if (_feed.Find(der) is { Status: ConnectionStatus.Connected } current)
            {
                // Only the time moved: no change to announce.
                _feed.Publish(current with { LastSeen = at }, announce: false);
                return;
            }

            Change(der, type, ConnectionStatus.Connected, at, null);
        }
    }

    /// <summary>
    /// Sets a status (from a source: connecting, disconnected, auth failed…); announced only when the status differs. A
    /// new detail of the same status (a retry's error) is kept for later subscribers but not announced: clients see
    /// one event per transition, not one per failed attempt.
    /// </summary>
    public void Set(DerAddress der, DerType type, ConnectionStatus status, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(der);
        lock (_gate)
        {
            var current = _feed.Find(der);
            if (current is not null && current.Status == status)
            {
                if (current.Detail != detail)
                {
                    _feed.Publish(current with { Detail = detail }, announce: false);
                }

                return;
            }

            Change(der, type, status, current?.LastSeen, detail);
        }
    }

    /// <summary>
    /// Makes a DER known that nothing has been heard from yet in this run (one kept in history by an earlier run):
    /// <see cref="ConnectionStatus.Unknown"/> with its last-seen time. A DER the board already knows is left as it is.
    /// </summary>
    public void Remember(DerAddress der, DerType type, DateTimeOffset? lastSeen, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(der);
        lock (_gate)
        {
            if (_feed.Find(der) is null)
            {
                Change(der, type, ConnectionStatus.Unknown, lastSeen, detail);
            }
        }
    }

    /// <summary>Marks connected DERs that have been silent for <see cref="StaleAfter"/> as stale.</summary>
    public void Sweep(DateTimeOffset now)
    {
        lock (_gate)
        {
            foreach (var s in _feed.Present())
            {
                var der = s.Der;
                // Silent since the last reading, or since the connection came up if nothing has arrived yet.
                if (s.Status == ConnectionStatus.Connected && (s.LastSeen ?? s.Since) is { } since && now - since >= StaleAfter)
                {
                    Change(der, s.Type, ConnectionStatus.Stale, s.LastSeen, $"no reading for {(now - since).TotalSeconds:0} s");
                }
            }
        }
    }

    public DerStatus? Get(DerAddress der)
    {
        ArgumentNullException.ThrowIfNull(der);
        return _feed.Find(der);
    }

    /// <summary>Every DER's status, in the order first seen.</summary>
    public IReadOnlyList<DerStatus> Snapshot() => _feed.Present();

    /// <summary>
    /// The feed of statuses: the present statuses of the DERs a subscriber's filter lets through (however many: the
    /// snapshot waits outside the queue's bound), then every change to them. A subscriber that does not keep up loses the
    /// oldest changes (the next change carries the full state anyway).
    /// </summary>
    public Feed<DerStatus> Feed => _feed;

    /// <summary>The present statuses <paramref name="filter"/> lets through, then every change to them.</summary>
    public DropOldestQueue<DerStatus> Subscribe(Func<DerStatus, bool>? filter = null, int capacity = 1024) => _feed.Subscribe(filter, capacity);

    /// <summary>Ends every subscription, e.g. at shutdown.</summary>
    public void CompleteAll() => _feed.CompleteAll();

    private void Change(DerAddress der, DerType type, ConnectionStatus status, DateTimeOffset? lastSeen, string? detail)
    {
        _feed.Publish(new DerStatus(der, type, status, lastSeen, detail, ++_version, _time.GetUtcNow()));
    }
}
