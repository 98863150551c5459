namespace Wattstream.Telemetry;

/// <summary>Exponential backoff with full jitter: a uniformly random delay in [0, min(cap, base × 2^attempt)].</summary>
/// <remarks>
/// Here, in the lowest project, because sources (reconnects) and the cluster log (JetStream retries) both wait with
/// it and neither should depend on the other for it.
/// </remarks>
public sealed class Backoff(TimeSpan baseDelay, TimeSpan cap, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    public TimeSpan Delay(int attempt)
    {
        var ceiling = Math.Min(cap.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromMilliseconds(_random.NextDouble() * ceiling);
    }
}
