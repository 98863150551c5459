namespace Wattstream.Telemetry;

/// <summary>A payload that does not fit its wire format. <see cref="Errors"/> names every bad field.</summary>
public sealed class TelemetryFormatException : FormatException
{
    public TelemetryFormatException(string message)
        : this([message])
    {
    }

    public TelemetryFormatException(IReadOnlyList<string> errors)
        : base(string.Join("; ", errors))
    {
        Errors = errors;
    }

    public TelemetryFormatException(string message, Exception inner)
        : base(message, inner)
    {
        Errors = [message];
    }

    public TelemetryFormatException()
        : this("malformed payload")
    {
    }

    public IReadOnlyList<string> Errors { get; }

    /// <summary>The JSON reader's own complaint (bad syntax, wrong token), as a format error.</summary>
    public static TelemetryFormatException Malformed(Exception inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return new TelemetryFormatException($"malformed JSON: {inner.Message}", inner);
    }

    /// <summary>Throws when any field was bad, naming them all.</summary>
    public static void ThrowIfAny(List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count > 0)
        {
            throw new TelemetryFormatException(errors.ToArray()); // a copy: the caller may reuse its list
        }
    }
}
