using System.Globalization;

namespace Wattstream.Telemetry;

/// <summary>How times are written where a wire format has no rule of its own: ISO-8601 UTC with milliseconds and <c>Z</c>.</summary>
public static class WireTime
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
