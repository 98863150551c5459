using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Wattstream.Streaming.Sessions;

/// <summary>
/// The one registry of open sessions and its one timer, for every transport: a session silent for the heartbeat
/// interval gets its transport's heartbeat, a session that has lost too many events (or whose snapshot makes no
/// progress) is closed, and so is one whose caller's credential has expired or been revoked. The checks run
/// here rather than in the session's pump, because a client that stopped reading may hold its pump in a write that
/// never completes.
/// </summary>
/// <remarks>
/// Each check looks only at the sessions it can concern, so that 10 000 quiet streams cost next to nothing: the
/// slow-client rule every supervision interval at the sessions that lost something lately or are writing a snapshot
/// (their queues tell them, <see cref="IDropWatcher"/>); expiry and revocation every tick at the sessions opened with a
/// credential; and the heartbeat every quarter of the heartbeat interval at all of them.
/// </remarks>
public sealed class StreamSupervisor(IOptions<StreamingOptions> options, TimeProvider time, ILogger<StreamSupervisor> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<StreamSession, byte> _sessions = new();
    private readonly ConcurrentDictionary<StreamSession, byte> _credentialed = new();
    private readonly ConcurrentDictionary<StreamSession, byte> _watched = new();
    private readonly StreamingOptions _options = options.Value;

    internal StreamingOptions Options => _options;

    internal TimeProvider Time => time;

    /// <summary>Open sessions of every transport.</summary>
    public int Sessions => _sessions.Count;

    /// <summary>Sessions the slow-client rule looks at now: those that lost something lately or are writing a snapshot.</summary>
    internal int Watched => _watched.Count;

    /// <summary>Open sessions of one transport ("sse", "websocket").</summary>
    public int SessionsOf(string transport) => _sessions.Keys.Count(s => s.Transport.Name == transport);

    /// <summary>
    /// A session over <paramref name="transport"/>, supervised until it is disposed; closed when the caller's
    /// <paramref name="credential"/> expires or is revoked, if it is still open then.
    /// </summary>
    public StreamSession Open(IFrameTransport transport, StreamCredential? credential = null, string family = "")
    {
        ArgumentNullException.ThrowIfNull(transport);
        var session = new StreamSession(transport, this, credential, family);
        _sessions.TryAdd(session, 0);
        if (credential is not null)
        {
            _credentialed.TryAdd(session, 0);
        }

        return session;
    }

    internal void Untrack(StreamSession session)
    {
        _sessions.TryRemove(session, out _);
        _credentialed.TryRemove(session, out _);
        _watched.TryRemove(session, out _);
    }

    /// <summary>The slow-client rule looks at <paramref name="session"/> from the next check on (it lost something).</summary>
    internal void Watch(StreamSession session)
    {
        if (_sessions.ContainsKey(session))
        {
            _watched.TryAdd(session, 0);
        }
    }

    private long _framesOfEndedSessions;

    internal void Ended(StreamSession session) => Interlocked.Add(ref _framesOfEndedSessions, session.FramesSent);

    /// <summary>Frames written to clients by every session so far, ended or open (the "messages out" of the metrics).</summary>
    public long FramesSent => Interlocked.Read(ref _framesOfEndedSessions) + _sessions.Keys.Sum(s => s.FramesSent);

    /// <summary>Open sessions by transport and wire family.</summary>
    public IEnumerable<(string Transport, string Family, int Count)> SessionsByFamily() =>
        _sessions.Keys.GroupBy(s => (s.Transport.Name, s.Family)).Select(g => (g.Key.Name, g.Key.Family, g.Count()));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Tick at the supervision interval, and at least four times per heartbeat interval (a stream is never silent
        // much longer than the interval).
        var heartbeatSweep = _options.HeartbeatInterval / 4;
        var tick = TimeSpan.FromTicks(Math.Min(_options.SupervisionInterval.Ticks, heartbeatSweep.Ticks));
        using var timer = new PeriodicTimer(tick, time);
        var lastSlowCheck = time.GetTimestamp();
        var lastHeartbeatSweep = lastSlowCheck;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // The dictionaries themselves, not their Keys: Keys takes every lock and copies all sessions into a new
                // list. Enumerating is lock-free and may miss a session added meanwhile, which the next tick sees.
                var now = time.GetUtcNow();
                foreach (var (session, _) in _credentialed)
                {
                    if (session.ExpiresAt <= now)
                    {
                        logger.LogInformation("Closing a {Transport} stream: the caller's token expired", session.Transport.Name);
                        Untrack(session);
                        _ = CloseAndCutAsync(session, new CloseReason(CloseKind.TokenExpired, "token expired: reconnect with a new token (and Last-Event-ID to resume)"));
                    }
                    else if (session.Credential?.IsRevoked?.Invoke() == true)
                    {
                        logger.LogInformation("Closing a {Transport} stream: the caller's credential was revoked", session.Transport.Name);
                        Untrack(session);
                        _ = CloseAndCutAsync(session, new CloseReason(CloseKind.Revoked, "credential revoked: it is refused from now on"));
                    }
                }

                if (time.GetElapsedTime(lastSlowCheck) >= _options.SupervisionInterval - tick / 2)
                {
                    lastSlowCheck = time.GetTimestamp();
                    CheckSlow();
                }

                if (time.GetElapsedTime(lastHeartbeatSweep) >= heartbeatSweep - tick / 2)
                {
                    lastHeartbeatSweep = time.GetTimestamp();
                    foreach (var (session, _) in _sessions)
                    {
                        if (session.Idle >= _options.HeartbeatInterval)
                        {
                            _ = session.HeartbeatAsync();
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // The slow-client rule, at the sessions that lost something lately or are writing a snapshot.
    private void CheckSlow()
    {
        foreach (var (session, _) in _watched)
        {
            if (session.IsTooSlow(out var quiet))
            {
                logger.LogInformation("Closing a {Transport} stream: the client fell too far behind ({Dropped} events lost)", session.Transport.Name, session.Dropped);
                Untrack(session);
                _ = CloseAndCutAsync(session, new CloseReason(CloseKind.TooSlow, "too slow: events were dropped past the backlog limit"));
            }
            else if (quiet)
            {
                // Removed first: a loss after Unwatch clears the flag brings it straight back.
                _watched.TryRemove(session, out _);
                if (!session.Unwatch())
                {
                    Watch(session);
                }
            }
        }
    }

    private async Task CloseAndCutAsync(StreamSession session, CloseReason reason)
    {
        // The polite close, then the pumps end so the connection's request finishes the transport's way (an SSE response
        // ends whole, after its last event). A client that reads nothing will not read the goodbye either, and a request
        // still running after the close timeout is cut off. (Never cut after the request is over: its connection may
        // already serve the client's next request.)
        var deadline = time.GetTimestamp() + (long)(_options.CloseTimeout.TotalSeconds * time.TimestampFrequency);
        var close = session.CloseAsync(reason);
        await Task.WhenAny(close, Task.Delay(_options.CloseTimeout, time));
        session.EndPumps();
        while (!session.IsDisposed && time.GetTimestamp() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time);
        }

        if (!session.IsDisposed)
        {
            session.Transport.Abort();
        }
    }
}
