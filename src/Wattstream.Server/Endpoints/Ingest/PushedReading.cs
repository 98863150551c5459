using System.Text.Json;
using System.Text.Json.Nodes;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>One pushed reading checked and converted: Novacore's reading JSON plus its <c>org</c>, <c>site</c>, <c>device</c> and <c>der</c> ids.</summary>
internal static class PushedReading
{
    private static readonly string[] AddressKeys = ["org", "site", "device", "der"];

    /// <summary>A reading with its address ids, a known type, numeric fields that are numbers, and a plausible time.</summary>
    public static bool Validate(JsonNode? node, ReadOnlyMemory<byte> line, DateTimeOffset now, out Reading? reading, out List<string> problems)
    {
        reading = null;
        problems = [];
        if (node is not JsonObject obj)
        {
            problems.Add("a reading must be a JSON object");
            return false;
        }

        var ids = new string?[4];
        for (var k = 0; k < AddressKeys.Length; k++)
        {
            var value = obj[AddressKeys[k]];
            ids[k] = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            if (!Subjects.IsValidToken(ids[k]))
            {
                problems.Add($"'{AddressKeys[k]}' must be an id of {Subjects.TokenRule}");
            }
        }

        var placeholder = problems.Count == 0 ? new DerAddress(ids[0]!, ids[1]!, ids[2]!, ids[3]!) : new DerAddress("x", "x", "x", "x");
        try
        {
            // The reading's own bytes (an NDJSON line), or the node written out (an element of an array); the address
            // members are passed over, not copied away first.
            reading = NovacoreReading.Parse(line.IsEmpty ? JsonSerializer.SerializeToUtf8Bytes(obj) : line.Span, placeholder, AddressKeys);
            var time = reading.Time;
            if (time < now.AddYears(-10) || time > now.AddDays(1))
            {
                problems.Add($"'timestamp' {reading.Timestamp} is not plausible (more than 10 years ago or in the future)");
            }
        }
        catch (TelemetryFormatException e)
        {
            problems.AddRange(e.Errors);
        }

        return problems.Count == 0;
    }
}
