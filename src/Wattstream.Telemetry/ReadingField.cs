namespace Wattstream.Telemetry;

/// <summary>
/// A non-numeric or unknown field carried as raw UTF-8 JSON (a string, bool, array or object, exactly as it arrived),
/// so it can be written back out unchanged.
/// </summary>
public readonly record struct ReadingField(string Name, ReadOnlyMemory<byte> RawJson)
{
    public string RawText => System.Text.Encoding.UTF8.GetString(RawJson.Span);

    public override string ToString() => $"{Name}={RawText}";
}
