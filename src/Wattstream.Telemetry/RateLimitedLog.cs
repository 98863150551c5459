using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Wattstream.Telemetry;

/// <summary>Logs each kind of fault at most once per interval: a device that sends garbage must not flood the log.</summary>
/// <remarks>Here, beside <see cref="Backoff"/>, because sources and the cluster feed both use it and neither should depend on the other for it.</remarks>
public sealed class RateLimitedLog(ILogger logger, TimeProvider time, TimeSpan interval)
{
    private readonly ConcurrentDictionary<string, long> _last = new();
    private readonly ConcurrentDictionary<string, long> _suppressed = new();

    public void Warn(string kind, string message)
    {
        var now = time.GetTimestamp();
        var last = _last.GetOrAdd(kind, 0);
        if (last != 0 && time.GetElapsedTime(last, now) < interval)
        {
            _suppressed.AddOrUpdate(kind, 1, (_, n) => n + 1);
            return;
        }

        _last[kind] = now;
        _suppressed.TryRemove(kind, out var skipped);
        logger.LogWarning("{Message} (fault '{Kind}'; {Skipped} more of this kind since the last message)", message, kind, skipped);
    }
}
