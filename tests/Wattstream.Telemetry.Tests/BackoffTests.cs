namespace Wattstream.Telemetry.Tests;

public class BackoffTests
{
    // A Random whose every draw is the same fraction, so the ceiling of each attempt is read off exactly.
    private sealed class FixedRandom(double fraction) : Random
    {
        public override double NextDouble() => fraction;
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 200)]
    [InlineData(3, 800)]
    [InlineData(6, 5000)] // 6 400 ms, capped
    [InlineData(1000, 5000)] // no overflow far past the cap
    public void The_ceiling_doubles_per_attempt_up_to_the_cap(int attempt, double ceilingMs)
    {
        var top = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), new FixedRandom(1.0));
        Assert.Equal(ceilingMs, top.Delay(attempt).TotalMilliseconds, 3);

        var half = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), new FixedRandom(0.5));
        Assert.Equal(ceilingMs / 2, half.Delay(attempt).TotalMilliseconds, 3);
    }

    [Fact]
    public void Full_jitter_spreads_delays_over_zero_to_the_ceiling()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), new Random(7));
        var delays = Enumerable.Range(0, 200).Select(_ => backoff.Delay(3).TotalMilliseconds).ToArray();
        Assert.All(delays, d => Assert.InRange(d, 0, 800));
        Assert.Contains(delays, d => d < 200);
        Assert.Contains(delays, d => d > 600);
    }
}
