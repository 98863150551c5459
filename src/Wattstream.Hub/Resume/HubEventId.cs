using System.Globalization;

namespace Wattstream.Hub.Resume;

/// <summary>
/// An event's id as clients see it: <c>{epoch}-{sequence}</c>, where the epoch names the hub's run. An id from another run
/// is recognised as such instead of being mistaken for a position in this one. Ordered by epoch, then sequence.
/// </summary>
public readonly record struct HubEventId(long Epoch, long Sequence) : IComparable<HubEventId>
{
    public static HubEventId Max { get; } = new(long.MaxValue, long.MaxValue);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Epoch}-{Sequence}");

    public static string Format(long epoch, long sequence) => new HubEventId(epoch, sequence).ToString();

    public static bool TryParse(ReadOnlySpan<char> text, out HubEventId id)
    {
        id = default;
        var dash = text.IndexOf('-');
        if (dash > 0
            && long.TryParse(text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            && long.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            id = new HubEventId(epoch, sequence);
            return true;
        }

        return false;
    }

    public int CompareTo(HubEventId other) => Epoch != other.Epoch ? Epoch.CompareTo(other.Epoch) : Sequence.CompareTo(other.Sequence);

    public static bool operator <(HubEventId a, HubEventId b) => a.CompareTo(b) < 0;

    public static bool operator >(HubEventId a, HubEventId b) => a.CompareTo(b) > 0;

    public static bool operator <=(HubEventId a, HubEventId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(HubEventId a, HubEventId b) => a.CompareTo(b) >= 0;
}
