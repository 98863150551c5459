using System.Text.Json;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>A push's body: read within <see cref="IngestEndpoints.MaxPushBytes"/>, then split into each reading's bytes.</summary>
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

    private static readonly JsonReaderOptions Strict = new() { MaxDepth = 16 };

    /// <summary>
    /// Each reading's own bytes: the body (one reading), each element of a JSON array, or each non-empty NDJSON line.
    /// Their content is checked as each is validated (<see cref="PushedReading.Validate"/>); no document is built
    /// (issue 31: a <c>JsonNode</c> per reading was a quarter of a push's CPU).
    /// </summary>
    /// <exception cref="JsonException">The body is not JSON (a reading or an array; an NDJSON line is checked on its own).</exception>
    public static List<ReadOnlyMemory<byte>> Split(byte[] body, bool ndjson)
    {
        var all = body.AsMemory();
        if (all.Span.StartsWith("\uFEFF"u8))
        {
            all = all[3..]; // a UTF-8 byte order mark, as some tools write
        }

        var items = new List<ReadOnlyMemory<byte>>();
        if (ndjson)
        {
            // Line by line from the bytes, without decoding the body to a string and splitting that.
            foreach (var range in all.Span.Split((byte)'\n'))
            {
                var (start, length) = range.GetOffsetAndLength(all.Length);
                var line = Trim(all.Slice(start, length));
                if (!line.IsEmpty)
                {
                    items.Add(line);
                }
            }

            return items;
        }

        var reader = new Utf8JsonReader(all.Span, Strict);
        if (!reader.Read())
        {
            throw new JsonException("The body is empty: expected a reading or an array of readings.");
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            items.Add(Trim(all)); // one reading: checked as it is validated
            return items;
        }

        // The array's elements, each as its own bytes; the reader checks their syntax and depth as it passes over them.
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            items.Add(all[start..(int)reader.BytesConsumed]);
        }

        if (reader.Read())
        {
            throw new JsonException("Content after the array of readings.");
        }

        return items;
    }

    private static ReadOnlyMemory<byte> Trim(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        var start = span.Length - span.TrimStart(" \t\r"u8).Length;
        return line[start..(start + span[start..].TrimEnd(" \t\r"u8).Length)];
    }
}
