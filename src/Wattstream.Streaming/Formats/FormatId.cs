namespace Wattstream.Streaming.Formats;

/// <summary>The name of a payload format as clients write it (<c>"format": "novacore"</c> on <c>/ws</c>).</summary>
public readonly record struct FormatId(string Name)
{
    public override string ToString() => Name;
}
