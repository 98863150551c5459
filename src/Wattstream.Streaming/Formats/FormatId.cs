namespace Wattstream.Streaming.Formats;

/// <summary>The name of a payload format as clients write it (the <c>format</c> member of a <c>/ws</c> subscribe).</summary>
public readonly record struct FormatId(string Name)
{
    public override string ToString() => Name;
}
