using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace Wattstream.Server.Streaming;

/// <summary>
/// Watches every WebSocket session once a second and disconnects clients that have lost too many messages: a client
/// that stopped reading may be stuck in a send that never completes, so the check runs outside its pump.
/// </summary>
public sealed class WebSocketSupervisor(TimeProvider time, ILogger<WebSocketSupervisor> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<WebSocketSession, byte> _sessions = new();

    public int Sessions => _sessions.Count;

    public IDisposable Track(WebSocketSession session)
    {
        _sessions.TryAdd(session, 0);
        return new Registration(this, session);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var session in _sessions.Keys)
                {
                    if (session.IsTooSlow())
                    {
                        logger.LogInformation("Closing WebSocket {Path}: the client fell too far behind", session.Context.Request.Path);
                        _ = CloseSlowAsync(session);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task CloseSlowAsync(WebSocketSession session)
    {
        // Try the polite close; a client that reads nothing will not read it either, so abort after a moment.
        var close = session.CloseAsync(WebSocketCloseStatus.PolicyViolation, "too slow: messages were dropped past the backlog limit");
        await Task.WhenAny(close, Task.Delay(TimeSpan.FromSeconds(1)));
        session.Context.Abort();
    }

    private sealed class Registration(WebSocketSupervisor owner, WebSocketSession session) : IDisposable
    {
        public void Dispose() => owner._sessions.TryRemove(session, out _);
    }
}
