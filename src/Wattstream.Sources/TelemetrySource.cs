using Microsoft.Extensions.Logging;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Sources;

/// <summary>The device's credentials were refused: retry only after <see cref="SourceTimingOptions.AuthFailedRetry"/>.</summary>
public sealed class SourceAuthenticationException(string message) : Exception(message)
{
    public SourceAuthenticationException()
        : this("authentication failed")
    {
    }

    public SourceAuthenticationException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}

/// <summary>
/// One connector: connect, read events until the stream ends or goes quiet, reconnect with backoff and full jitter,
/// forever. Subclasses only connect and turn events into readings; state, status and the watchdog live here.
/// </summary>
public abstract class TelemetrySource
{
    private readonly HashSet<(DerAddress, DerType)> _ders = [];
    private readonly Lock _gate = new();

    protected TelemetrySource(SourceOptions options, SourceContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        Options = options;
        Context = context;
        State = new SourceState(options);
        Log = context.LoggerFactory.CreateLogger($"Wattstream.Sources.{options.Id}");
        Faults = new RateLimitedLog(Log, context.Time, TimeSpan.FromMinutes(1));
    }

    public SourceOptions Options { get; }

    public SourceState State { get; }

    protected SourceContext Context { get; }

    protected ILogger Log { get; }

    protected RateLimitedLog Faults { get; }

    /// <summary>The DERs this source has published (or is configured for), for status.</summary>
    public IReadOnlyList<(DerAddress Address, DerType Type)> Ders
    {
        get
        {
            lock (_gate)
            {
                return _ders.ToArray();
            }
        }
    }

    /// <summary>Connects and reads until the stream ends, fails, or <paramref name="session"/> is cancelled by the watchdog.</summary>
    protected abstract Task ReadAsync(SourceSession session, CancellationToken cancellationToken);

    public async Task RunAsync(CancellationToken stopping)
    {
        var timing = Context.Timing;
        var backoff = new Backoff(timing.BackoffBase, timing.BackoffCap);
        var attempt = 0;
        Log.LogInformation("Source {Id} ({Kind}) reads {Url}", Options.Id, Options.Kind, State.SafeUrl);
        // CONNECTING only before the first attempt: a retry keeps the status the failure left (DISCONNECTED, STALE,
        // AUTH_FAILED) until a connection succeeds, so a source that keeps failing is one status, not a flicker of two.
        SetStatus(ConnectionStatus.Connecting, null);
        while (!stopping.IsCancellationRequested)
        {
            State.Attempting();
            var delay = TimeSpan.Zero;
            using var session = new SourceSession(this, timing.IdleTimeout, stopping);
            try
            {
                await ReadAsync(session, session.Token);
                SetStatus(ConnectionStatus.Disconnected, "the stream ended");
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException) when (session.IdleExpired)
            {
                SetStatus(ConnectionStatus.Stale, $"no event for {timing.IdleTimeout.TotalSeconds:0.#} s: reconnecting");
                Log.LogWarning("Source {Id} was silent for {Idle}: reconnecting", Options.Id, timing.IdleTimeout);
            }
            catch (SourceAuthenticationException e)
            {
                SetStatus(ConnectionStatus.AuthFailed, e.Message);
                Log.LogWarning("Source {Id}: {Error}; next try in {Delay}", Options.Id, e.Message, timing.AuthFailedRetry);
                delay = timing.AuthFailedRetry;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or System.Net.WebSockets.WebSocketException or OperationCanceledException or InvalidOperationException or TimeoutException)
            {
                SetStatus(ConnectionStatus.Disconnected, Describe(e));
                Log.LogInformation("Source {Id} disconnected: {Error}", Options.Id, Describe(e));
            }

            // A connection that delivered events starts the backoff over; one that did not, backs off further.
            attempt = session.Events > 0 ? 0 : attempt + 1;
            if (delay == TimeSpan.Zero)
            {
                delay = backoff.Delay(attempt);
            }

            State.Reconnected();
            State.Waiting(Context.Time.GetUtcNow() + delay);
            try
            {
                await Task.Delay(delay, Context.Time, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        SetStatus(ConnectionStatus.Disconnected, "stopped");
    }

    // Exception messages can carry a URL; ours never carry credentials (they are not in URLs), but keep it short.
    private static string Describe(Exception e) => e is HttpRequestException { StatusCode: { } code } ? $"HTTP {(int)code}" : e.Message;

    internal void SetStatus(ConnectionStatus status, string? error)
    {
        State.Status = status;
        if (error is not null)
        {
            State.LastError = error; // the last error stays visible after a reconnect
        }

        foreach (var (der, type) in Ders)
        {
            // The source speaks for its DERs' connection; readings then keep them connected (and silence makes them stale).
            Context.Statuses.Set(der, type, status, status == ConnectionStatus.Connected ? null : error);
        }
    }

    /// <summary>Declares a DER of this source before it has sent anything (so its status shows while connecting).</summary>
    protected void Declare(DerAddress der, DerType type)
    {
        lock (_gate)
        {
            _ders.Add((der, type));
        }
    }

    /// <summary>Publishes a reading into the hub.</summary>
    internal void Publish(Reading reading)
    {
        Declare(reading.Der, reading.Type);
        Context.Hub.Publish(reading);
    }

    /// <summary>Counts and logs (at most once a minute per kind) an event that could not be used; the stream goes on.</summary>
    protected void Reject(string kind, string message)
    {
        State.Reject();
        Faults.Warn(kind, $"Source {Options.Id}: skipped an event: {message}");
    }
}

/// <summary>What every source needs from the host.</summary>
public sealed record SourceContext(TelemetryHub Hub, StatusBoard Statuses, SourceTimingOptions Timing, TimeProvider Time, ILoggerFactory LoggerFactory, ISourceHttpClients Http);

/// <summary>
/// Makes the HttpClient each source uses: the handler chain carries its credentials and there is no timeout, which
/// <c>IHttpClientFactory</c>'s named clients, shared by name, do not give per source.
/// </summary>
public interface ISourceHttpClients
{
    HttpClient Create(HttpMessageHandler? authHandler);
}

/// <summary>One connection attempt: its cancellation (stop or idle watchdog) and what it delivered.</summary>
public sealed class SourceSession : IDisposable
{
    private readonly TelemetrySource _source;
    private readonly CancellationTokenSource _idle;
    private readonly CancellationTokenSource _linked;
    private readonly TimeSpan _idleTimeout;

    internal SourceSession(TelemetrySource source, TimeSpan idleTimeout, CancellationToken stopping)
    {
        _source = source;
        _idleTimeout = idleTimeout;
        _idle = new CancellationTokenSource(idleTimeout);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _idle.Token);
    }

    public CancellationToken Token => _linked.Token;

    public bool IdleExpired => _idle.IsCancellationRequested;

    public long Events { get; private set; }

    /// <summary>The server answered: the source is connected (the watchdog now waits for the first event).</summary>
    public void Connected()
    {
        _source.State.Connected();
        _source.SetStatus(ConnectionStatus.Connected, null);
        _idle.CancelAfter(_idleTimeout);
    }

    /// <summary>Something arrived: the watchdog starts over.</summary>
    public void Touch(DateTimeOffset at)
    {
        Events++;
        _source.State.Event(at);
        _idle.CancelAfter(_idleTimeout);
    }

    /// <summary>
    /// The connection is known to be alive without an event (a NATS connection's own pings on a quiet subject): the
    /// watchdog starts over, but nothing is counted and last-seen stays the last event's.
    /// </summary>
    public void KeepAlive() => _idle.CancelAfter(_idleTimeout);

    public void Publish(Reading reading) => _source.Publish(reading);

    public void Dispose()
    {
        _linked.Dispose();
        _idle.Dispose();
    }
}
