namespace Wattstream.Telemetry;

/// <summary>
/// Text from outside (a topic, an id, a payload) cut to a length before it goes into a log line or an error message, so
/// a hostile or broken peer cannot fill either.
/// </summary>
public static class Excerpt
{
    public static string Of(string? text, int maxLength) =>
        text is null ? "" : text.Length <= maxLength ? text : string.Concat(text.AsSpan(0, maxLength), "…");
}
