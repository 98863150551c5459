using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Wattstream.Server.Streaming;

/// <summary>
/// One timer for all SSE connections: each tick sends a comment to every stream that has been silent for the heartbeat
/// interval. Cheaper than a timer per connection, and a busy stream never gets one.
/// </summary>
public sealed class SseHeartbeats : BackgroundService
{
    private readonly ConcurrentDictionary<SseConnection, byte> _connections = new();
    private readonly SseOptions _options;
    private readonly TimeProvider _time;

    public SseHeartbeats(IOptions<SseOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
    }

    public int Connections => _connections.Count;

    /// <summary>Watches a connection until the returned handle is disposed.</summary>
    public IDisposable Track(SseConnection connection)
    {
        _connections.TryAdd(connection, 0);
        return new Registration(this, connection);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Tick at a quarter of the interval so a stream is never silent much longer than the interval.
        var interval = _options.HeartbeatInterval;
        using var timer = new PeriodicTimer(interval / 4, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var connection in _connections.Keys)
                {
                    if (connection.IdleMilliseconds >= interval.TotalMilliseconds)
                    {
                        _ = connection.HeartbeatAsync().AsTask();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Registration(SseHeartbeats owner, SseConnection connection) : IDisposable
    {
        public void Dispose() => owner._connections.TryRemove(connection, out _);
    }
}
