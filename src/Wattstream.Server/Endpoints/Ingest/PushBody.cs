using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>A push's body: read within <see cref="IngestEndpoints.MaxPushBytes"/>, then split into one JSON node per reading.</summary>
internal static class PushBody
{
    /// <summary>The body's bytes; null when it is larger than <see cref="IngestEndpoints.MaxPushBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request)
    {
        var aborted = request.HttpContext.RequestAborted;
        if (request.ContentLength is { } declared)
        {
            if (declared > IngestEndpoints.MaxPushBytes)
            {
                return null;
            }

            // The declared length (Kestrel holds the body to it): one array of that size, read into directly. A push of
            // one reading a request was a 16 KB chunk, a growing stream and a copy (issue 19's latency scenario).
            var body = new byte[declared];
            var read = 0;
            while (read < body.Length)
            {
                var n = await request.Body.ReadAsync(body.AsMemory(read), aborted);
                if (n == 0)
                {
                    Array.Resize(ref body, read);
                    break;
                }

                read += n;
            }

            return body;
        }

        // Chunked: gathered until the end, within the limit.
        using var buffer = new MemoryStream();
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int n;
            while ((n = await request.Body.ReadAsync(chunk, aborted)) > 0)
            {
                if (buffer.Length + n > IngestEndpoints.MaxPushBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, n);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    // A member given twice is ambiguous (which W?): refused, as is nesting deeper than a reading needs.
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false, MaxDepth = 16 };

    // Each reading as a node (parsed strictly: duplicate members and deep nesting are refused) and, for NDJSON, its line,
    // which the reading is then converted from without writing the node out again.
    public static List<(JsonNode? Node, ReadOnlyMemory<byte> Line)> Split(byte[] body, bool ndjson)
    {
        if (ndjson)
        {
            // Line by line from the bytes, without decoding the body to a string and splitting that.
            var items = new List<(JsonNode?, ReadOnlyMemory<byte>)>();
            var all = body.AsMemory();
            foreach (var range in all.Span.Split((byte)'\n'))
            {
                var (start, length) = range.GetOffsetAndLength(all.Length);
                var line = Trim(all.Slice(start, length));
                if (!line.IsEmpty)
                {
                    items.Add((JsonNode.Parse(line.Span, documentOptions: StrictJson), line));
                }
            }

            return items;
        }

        var node = JsonNode.Parse(body, documentOptions: StrictJson);
        return node is JsonArray array ? [.. array.Select(n => (n, ReadOnlyMemory<byte>.Empty))] : [(node, ReadOnlyMemory<byte>.Empty)];
    }

    private static ReadOnlyMemory<byte> Trim(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        var start = span.Length - span.TrimStart(" \t\r"u8).Length;
        return line[start..(start + span[start..].TrimEnd(" \t\r"u8).Length)];
    }
}
