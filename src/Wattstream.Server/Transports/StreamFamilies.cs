namespace Wattstream.Server.Transports;

/// <summary>Which wire family serves a stream, for the metrics: families tag their endpoints with their name.</summary>
internal static class StreamFamilies
{
    public static string Of(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.ITagsMetadata>()?.Tags is { Count: > 0 } tags ? tags[0] : "";
}
