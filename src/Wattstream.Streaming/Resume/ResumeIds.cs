using System.Globalization;
using Wattstream.Hub.Resume;
using Wattstream.Telemetry;

namespace Wattstream.Streaming.Resume;

/// <summary>How a feed's event ids look to clients; each feed keeps the format it has always had.</summary>
public enum FeedIdFormat
{
    /// <summary><c>{epoch}-{sequence}</c>: readings (the epoch names the store's run, so ids of another store are told apart).</summary>
    EpochSequence,

    /// <summary>A whole number the feed's store assigns (alerts), valid across restarts.</summary>
    Number,
}

/// <summary>
/// The one reader of a client's resume id (<c>Last-Event-ID</c>, <c>?lastEventId=</c>, a <c>/ws</c> subscribe's
/// <c>lastEventId</c>), for every feed and transport.
/// </summary>
public static class ResumeIds
{
    /// <summary>
    /// Reads <paramref name="text"/> in <paramref name="format"/>: absent or empty is no resume (true, null); a malformed
    /// one is false with <paramref name="error"/> saying what ids look like (<paramref name="noun"/> names them: "alert").
    /// A whole-number id is given as <c>(0, n)</c>.
    /// </summary>
    public static bool TryParse(string? text, FeedIdFormat format, string noun, out HubEventId? after, out string error)
    {
        after = null;
        error = "";
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (format == FeedIdFormat.Number)
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                after = new HubEventId(0, number);
                return true;
            }

            error = $"'{Excerpt.Of(text, 64)}' is not an {noun} id; {noun} ids are whole numbers.";
            return false;
        }

        if (HubEventId.TryParse(text, out var id))
        {
            after = id;
            return true;
        }

        error = $"'{Excerpt.Of(text, 64)}' is not an event id of this server; ids look like '{{epoch}}-{{sequence}}', e.g. '1763900000000-42'.";
        return false;
    }

    // An id is echoed in an error; a huge one is cut (the error body stays small).
}
