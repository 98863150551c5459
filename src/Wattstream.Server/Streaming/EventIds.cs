using System.Globalization;

namespace Wattstream.Server.Streaming;

/// <summary>
/// SSE event ids: <c>{epoch}-{id}</c>, where the epoch names the hub's run. An id from another run is recognised as
/// such instead of being mistaken for a position in this one.
/// </summary>
public static class EventIds
{
    public static string Format(long epoch, long id) => string.Create(CultureInfo.InvariantCulture, $"{epoch}-{id}");

    public static bool TryParse(ReadOnlySpan<char> text, out long epoch, out long id)
    {
        epoch = 0;
        id = 0;
        var dash = text.IndexOf('-');
        return dash > 0
            && long.TryParse(text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out epoch)
            && long.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }
}
