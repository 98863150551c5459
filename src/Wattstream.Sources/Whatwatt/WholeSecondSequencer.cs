namespace Wattstream.Sources.Whatwatt;

/// <summary>
/// Gives readings whose clock has whole seconds (the whatwatt device's local <c>Date</c>/<c>Time</c>) distinct
/// timestamps that stay the same when a reading is seen twice. Readings within one device second are numbered in
/// arrival order, +0, +1, +2 … ms; a reading whose data equals the previous one of the same second is that reading seen
/// again (across a reconnect) and keeps its time, so the hub drops it as a duplicate.
/// </summary>
/// <remarks>
/// The device's <c>Uptime</c> cannot break ties: it has hundredths of an hour (36 s). The numbering lives with the
/// source, not the connection, so it carries over reconnects. A device second whose readings all carry the same data
/// keeps one of them, which loses nothing.
/// </remarks>
internal sealed class WholeSecondSequencer
{
    /// <summary>More readings than this in one second share its last number (and are dropped as duplicates).</summary>
    public const int MaxPerSecond = 1000;

    private long _second = long.MinValue;
    private int _index;
    private int _lastData;

    /// <summary>The timestamp (epoch ms) of a reading of device second <paramref name="secondMs"/> with payload <paramref name="data"/>.</summary>
    public long Next(long secondMs, ReadOnlySpan<byte> data)
    {
        var hash = new HashCode();
        hash.AddBytes(data);
        var dataHash = hash.ToHashCode();
        if (secondMs == _second)
        {
            if (dataHash != _lastData)
            {
                _index = Math.Min(_index + 1, MaxPerSecond - 1);
            }
        }
        else if (secondMs > _second)
        {
            _second = secondMs;
            _index = 0;
        }
        else
        {
            return secondMs; // the device clock stepped back: an older second is not renumbered
        }

        _lastData = dataHash;
        return _second + _index;
    }
}
