using System.Text.Json;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>One pushed reading checked and converted: Novacore's reading JSON plus its <c>org</c>, <c>site</c>, <c>device</c> and <c>der</c> ids.</summary>
internal static class PushedReading
{
    private static readonly string[] AddressKeys = ["org", "site", "device", "der"];

    // A member given twice is ambiguous (which W?): refused, at any depth, as is nesting deeper than a reading needs.
    private static readonly JsonDocumentOptions StrictDocument = new() { AllowDuplicateProperties = false, MaxDepth = 16 };
    private static readonly JsonReaderOptions Strict = new() { MaxDepth = 16 };

    // Members a flat reading's duplicate check keeps on the stack; a reading with more is checked as a document.
    private const int MaxMembersOnStack = 64;

    /// <summary>A reading with its address ids, a known type, numeric fields that are numbers, and a plausible time.</summary>
    /// <exception cref="JsonException">The reading is not JSON, gives a member twice, or nests deeper than 16.</exception>
    public static bool Validate(ReadOnlyMemory<byte> json, DateTimeOffset now, out Reading? reading, out List<string>? problems)
    {
        reading = null;
        problems = null;
        Span<Range> ids = stackalloc Range[AddressKeys.Length];
        string?[]? unescaped = null;
        if (!ReadAddress(json, ids, ref unescaped))
        {
            problems = ["a reading must be a JSON object"];
            return false;
        }

        // A DER pushed before is found from the id bytes alone (no strings, no new address); a new one is checked.
        var address = unescaped is null ? PushedAddresses.Find(json.Span, ids) : null;
        if (address is null)
        {
            Span<string?> strings = [null, null, null, null];
            for (var k = 0; k < AddressKeys.Length; k++)
            {
                strings[k] = unescaped?[k] ?? PushedAddresses.Decode(json.Span, ids[k]);
                if (!Subjects.IsValidToken(strings[k]))
                {
                    (problems ??= []).Add($"'{AddressKeys[k]}' must be an id of {Subjects.TokenRule}");
                }
            }

            if (problems is null)
            {
                address = new DerAddress(strings[0]!, strings[1]!, strings[2]!, strings[3]!);
                if (unescaped is null)
                {
                    PushedAddresses.Keep(json.Span, ids, address);
                }
            }
        }

        try
        {
            // The reading's own bytes; the address members are passed over, not copied away first.
            reading = NovacoreReading.Parse(json.Span, address ?? Placeholder, AddressKeys);
            var time = reading.Time;
            if (time < now.AddYears(-10) || time > now.AddDays(1))
            {
                (problems ??= []).Add($"'timestamp' {reading.Timestamp} is not plausible (more than 10 years ago or in the future)");
            }
        }
        catch (TelemetryFormatException e)
        {
            (problems ??= []).AddRange(e.Errors);
        }

        return problems is null;
    }

    // What a reading whose ids are invalid is parsed for, so that its other problems are named too.
    private static readonly DerAddress Placeholder = new("x", "x", "x", "x");

    // One pass over the reading's top-level members: where each address id's string is (an empty range where absent or
    // not a string; an escaped one also as its string, in unescaped), and the strict checks. False when the JSON is not
    // an object.
    private static bool ReadAddress(ReadOnlyMemory<byte> memory, Span<Range> ids, ref string?[]? unescaped)
    {
        var json = memory.Span;
        var reader = new Utf8JsonReader(json, Strict);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            reader.Read(); // throws on anything after the value
            return false;
        }

        // Names as offsets into the JSON, compared as bytes: no string per member. Escaped names, nested values and very
        // wide readings are rare; those are checked as a document instead.
        Span<Range> names = stackalloc Range[MaxMembersOnStack];
        var count = 0;
        var asDocument = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped || count == MaxMembersOnStack)
            {
                asDocument = true;
            }
            else
            {
                var start = (int)reader.TokenStartIndex + 1; // past the opening quote
                var name = json.Slice(start, reader.ValueSpan.Length);
                foreach (var earlier in names[..count])
                {
                    if (json[earlier].SequenceEqual(name))
                    {
                        throw new JsonException($"The member '{reader.GetString()}' is given twice.");
                    }
                }

                names[count++] = new Range(start, start + name.Length);
            }

            var key = AddressIndex(ref reader);
            reader.Read();
            if (key >= 0 && reader.TokenType == JsonTokenType.String)
            {
                var start = (int)reader.TokenStartIndex + 1; // the string as written, quotes excluded
                ids[key] = new Range(start, start + reader.ValueSpan.Length);
                if (reader.ValueIsEscaped)
                {
                    (unescaped ??= new string?[AddressKeys.Length])[key] = reader.GetString();
                }
            }
            else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                asDocument = true;
                reader.Skip();
            }
        }

        if (reader.Read())
        {
            throw new JsonException("Content after the reading.");
        }

        if (asDocument)
        {
            using var _ = JsonDocument.Parse(memory, StrictDocument); // throws on a member given twice at any depth
        }

        return true;
    }

    // The index in AddressKeys of the member the reader is at; -1 for any other.
    private static int AddressIndex(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("org"u8) ? 0
        : reader.ValueTextEquals("site"u8) ? 1
        : reader.ValueTextEquals("device"u8) ? 2
        : reader.ValueTextEquals("der"u8) ? 3
        : -1;
}
