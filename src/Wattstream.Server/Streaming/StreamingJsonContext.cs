using System.Text.Json.Serialization;

namespace Wattstream.Server.Streaming;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GapEvent))]
internal sealed partial class StreamingJsonContext : JsonSerializerContext;
