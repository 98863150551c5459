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
public sealed class StreamSupervisor(IOptions<StreamingOptions> options, TimeProvider time, ILogger<StreamSupervisor> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<StreamSession, byte> _sessions = new();
    private readonly StreamingOptions _options = options.Value;

    internal StreamingOptions Options => _options;

    internal TimeProvider Time => time;

    /// <summary>Open sessions of every transport.</summary>
    public int Sessions => _sessions.Count;

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
        return session;
    }

    internal void Untrack(StreamSession session) => _sessions.TryRemove(session, out _);

    private long _framesOfEndedSessions;

    internal void Ended(StreamSession session) => Interlocked.Add(ref _framesOfEndedSessions, session.FramesSent);

    /// <summary>Frames written to clients by every session so far, ended or open (the "messages out" of the metrics).</summary>
    public long FramesSent => Interlocked.Read(ref _framesOfEndedSessions) + _sessions.Keys.Sum(s => s.FramesSent);

    /// <summary>Open sessions by transport and wire family.</summary>
    public IEnumerable<(string Transport, string Family, int Count)> SessionsByFamily() =>
        _sessions.Keys.GroupBy(s => (s.Transport.Name, s.Family)).Select(g => (g.Key.Name, g.Key.Family, g.Count()));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Tick at a quarter of the heartbeat interval (a stream is never silent much longer than the interval), and at
        // least once per supervision interval.
        var tick = TimeSpan.FromTicks(Math.Min(_options.SupervisionInterval.Ticks, _options.HeartbeatInterval.Ticks / 4));
        using var timer = new PeriodicTimer(tick, time);
        var lastSlowCheck = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var checkSlow = time.GetElapsedTime(lastSlowCheck) >= _options.SupervisionInterval - tick / 2;
                if (checkSlow)
                {
                    lastSlowCheck = time.GetTimestamp();
                }

                var now = time.GetUtcNow();
                foreach (var session in _sessions.Keys)
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
                    else if (checkSlow && session.IsTooSlow())
                    {
                        logger.LogInformation("Closing a {Transport} stream: the client fell too far behind ({Dropped} events lost)", session.Transport.Name, session.Dropped);
                        Untrack(session);
                        _ = CloseAndCutAsync(session, new CloseReason(CloseKind.TooSlow, "too slow: events were dropped past the backlog limit"));
                    }
                    else if (session.Idle >= _options.HeartbeatInterval)
                    {
                        _ = session.HeartbeatAsync();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
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
