using Wattstream.Hub.Status;

namespace Wattstream.Sources;

/// <summary>What <c>GET /api/sources</c> shows of one source. The URL never holds credentials.</summary>
public sealed record SourceStatus(
    string Id,
    string Kind,
    string Url,
    string Status,
    DateTimeOffset? LastSeen,
    string? LastError,
    long Events,
    long Bytes,
    long Rejected,
    long Reconnects,
    string[] Ders,
    int Retries,
    DateTimeOffset? NextAttempt)
{
    /// <summary>The node that runs the source (holds its lease); null while none does, or none is known to.</summary>
    public string? Owner { get; init; }
}

/// <summary>Live counters and state of one source, updated by its connector.</summary>
public sealed class SourceState(SourceOptions options)
{
    private long _events;
    private long _bytes;
    private long _rejected;
    private long _reconnects;
    private long _lastSeenTicks;
    private int _retries;
    private long _nextAttemptTicks;

    public SourceOptions Options { get; } = options;

    public ConnectionStatus Status { get; set; } = ConnectionStatus.Connecting;

    public string? LastError { get; set; }

    public long Events => Interlocked.Read(ref _events);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public DateTimeOffset? LastSeen
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastSeenTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    public void Event(DateTimeOffset at)
    {
        Interlocked.Increment(ref _events);
        Interlocked.Exchange(ref _lastSeenTicks, at.UtcTicks);
    }

    /// <summary>Retries since the source last connected: 0 while connected, 1 while waiting after the first failure, …</summary>
    public int Retries => Volatile.Read(ref _retries);

    /// <summary>When the next connection attempt starts, while the source waits for it; null while it connects or reads.</summary>
    public DateTimeOffset? NextAttempt
    {
        get
        {
            var ticks = Interlocked.Read(ref _nextAttemptTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>A connection attempt starts.</summary>
    public void Attempting() => Interlocked.Exchange(ref _nextAttemptTicks, 0);

    /// <summary>The server answered: retries start over.</summary>
    public void Connected() => Interlocked.Exchange(ref _retries, 0);

    /// <summary>The attempt ended and the next one waits until <paramref name="next"/>.</summary>
    public void Waiting(DateTimeOffset next)
    {
        Interlocked.Increment(ref _retries);
        Interlocked.Exchange(ref _nextAttemptTicks, next.UtcTicks);
    }

    public void AddBytes(long n) => Interlocked.Add(ref _bytes, n);

    public void Reject() => Interlocked.Increment(ref _rejected);

    public void Reconnected() => Interlocked.Increment(ref _reconnects);

    /// <summary>The URL as it may be shown or logged: scheme, host, port and path; no user info, no query.</summary>
    public string SafeUrl => Options.Url is null ? "" : Options.Url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
}
