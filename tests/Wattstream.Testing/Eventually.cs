namespace Wattstream.Testing;

/// <summary>Polling with a deadline, instead of a fixed sleep that is too short on a busy machine and too long elsewhere.</summary>
public static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds; fails the test naming <paramref name="what"/> when the deadline passes.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        if (!await TryUntilAsync(condition, timeout ?? TimeSpan.FromSeconds(20)))
        {
            throw new TimeoutException($"Timed out waiting for: {what}");
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds; false when the deadline passes first.</summary>
    public static async Task<bool> TryUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(Poll);
        }

        return true;
    }

    /// <summary>Waits until <paramref name="condition"/> holds (an asynchronous check, such as an HTTP request).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(Poll);
        }
    }
}
