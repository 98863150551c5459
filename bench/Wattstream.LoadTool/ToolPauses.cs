namespace Wattstream.LoadTool;

/// <summary>
/// When the load tool itself stood still for a garbage collection, as intervals of UTC ticks. While it is paused no
/// client reads and no publisher stamps, so a message whose way from publish to receipt overlaps a pause carries the
/// tool's pause in its latency, not the server's. A thread polls the runtime's total pause time every millisecond; a
/// pause that shows up lay between the previous poll and this one, and that whole interval is kept (a little wider
/// than the pause, never narrower).
/// </summary>
internal sealed class ToolPauses : IDisposable
{
    private readonly List<(long From, long To)> _intervals = [];
    private readonly Thread _thread;
    private volatile bool _stopped;

    public ToolPauses()
    {
        _thread = new Thread(Poll) { IsBackground = true, Name = "tool pauses", Priority = ThreadPriority.Highest };
        _thread.Start();
    }

    /// <summary>The pause intervals seen so far, in order, as a copy.</summary>
    public (long From, long To)[] Intervals
    {
        get
        {
            lock (_intervals)
            {
                return [.. _intervals];
            }
        }
    }

    private void Poll()
    {
        var total = GC.GetTotalPauseDuration();
        var polled = DateTime.UtcNow.Ticks;
        while (!_stopped)
        {
            Thread.Sleep(1);
            var now = DateTime.UtcNow.Ticks;
            var next = GC.GetTotalPauseDuration();
            if (next > total)
            {
                lock (_intervals)
                {
                    _intervals.Add((polled, now));
                }
            }

            total = next;
            polled = now;
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    /// <summary>True when [from, to] overlaps one of <paramref name="intervals"/> (sorted by start, not overlapping).</summary>
    public static bool Overlaps((long From, long To)[] intervals, long from, long to)
    {
        // The last interval that starts at or before `to` is the only one that can still reach back to `from`.
        int lo = 0, hi = intervals.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (intervals[mid].From <= to)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found >= 0 && intervals[found].To >= from;
    }
}
