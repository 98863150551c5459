using System.Globalization;
using System.Text.Json;

namespace Wattstream.Telemetry;

/// <summary>How times are written where a wire format has no rule of its own: ISO-8601 UTC with milliseconds and <c>Z</c>.</summary>
public static class WireTime
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>Numbers where a value may be missing: JSON <c>null</c> rather than 0 (a value the source did not send is absent).</summary>
public static class WireNumbers
{
    /// <summary>Writes <paramref name="value"/> rounded to <paramref name="digits"/>, or <c>null</c> when it is absent or not finite.</summary>
    public static void WriteNumberOrNull(this Utf8JsonWriter writer, string name, double? value, int digits = 6)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumber(name, Math.Round(v, digits));
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
