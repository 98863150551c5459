namespace Wattstream.Hub;

/// <summary>
/// One DER's recent reading timestamps, to drop a reading seen before: the newest timestamp and a small ring of recent
/// ones. Readings mostly arrive in order, so one newer than the newest is new without a look-up; only an out-of-order
/// one is compared with the ring. One older than the window is not caught here (history's primary key catches it).
/// </summary>
/// <remarks>
/// A struct so a DER's state holds it inline and the publish path reads it without another object; keep it in a
/// mutable field and call it there (a copy would remember nothing).
/// </remarks>
internal struct DuplicateWindow
{
    private readonly long[] _recent;
    private int _next;
    private int _count;
    private long _newest;

    /// <param name="size">How many recent timestamps are remembered (<see cref="HubOptions.DedupWindow"/>).</param>
    public DuplicateWindow(int size)
    {
        _recent = new long[size];
        _newest = long.MinValue;
    }

    /// <summary>Remembers the timestamp; false when it was seen within the window (a duplicate).</summary>
    public bool Remember(long timestamp)
    {
        if (timestamp <= _newest && Array.IndexOf(_recent, timestamp, 0, _count) >= 0)
        {
            return false;
        }

        _newest = Math.Max(_newest, timestamp);
        _recent[_next] = timestamp;
        _next = (_next + 1) % _recent.Length;
        _count = Math.Min(_count + 1, _recent.Length);
        return true;
    }
}
