using System.Globalization;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>A value published alone on its topic as text (<c>230.5</c>), as evcc, OpenDTU and Shelly Gen1 do.</summary>
internal static class PlainNumber
{
    /// <summary>The number, or a format error naming <paramref name="what"/> (e.g. <c>evcc's 'gridPower'</c>).</summary>
    /// <exception cref="TelemetryFormatException">Not a finite number.</exception>
    public static double Parse(string text, string what) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new TelemetryFormatException($"{what} must be a number, not '{Excerpt.Of(text, 20)}'");
}
