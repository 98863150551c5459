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
}
