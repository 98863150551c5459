using System.Buffers;
using System.Text.Json;

namespace Wattstream.Telemetry.Formats;

/// <summary>A key of a wire format that holds a number: which quantity it is and the unit the format uses.</summary>
internal readonly record struct NumericField(string Key, Quantity Quantity, Unit Unit);

/// <summary>
/// Walks the members of one flat JSON object and sorts each into measurements, known properties and unknown extras.
/// Shared by the converters so that they agree on what "malformed" means.
/// </summary>
internal ref struct JsonObjectReader
{
    private readonly ReadOnlySpan<byte> _json;
    private Utf8JsonReader _reader;

    public JsonObjectReader(ReadOnlySpan<byte> json)
    {
        _json = json;
        _reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 });
    }

    public readonly long BytesConsumed => _reader.BytesConsumed;

    public void ExpectObjectStart(string what)
    {
        if (!_reader.Read() || _reader.TokenType != JsonTokenType.StartObject)
        {
            throw new TelemetryFormatException($"{what} must be a JSON object");
        }
    }

    /// <summary>Moves to the next member; false at the end of the current object.</summary>
    public bool NextMember(out string name)
    {
        _reader.Read();
        if (_reader.TokenType == JsonTokenType.EndObject)
        {
            name = "";
            return false;
        }

        name = _reader.GetString()!;
        _reader.Read();
        return true;
    }

    /// <summary>
    /// As <see cref="NextMember(out string)"/>, with the name in <paramref name="scratch"/> when it fits (no string per
    /// member: a converter that needs one for an unknown member makes it then).
    /// </summary>
    public bool NextMember(Span<char> scratch, out ReadOnlySpan<char> name)
    {
        _reader.Read();
        if (_reader.TokenType == JsonTokenType.EndObject)
        {
            name = default;
            return false;
        }

        // UTF-8 never has fewer bytes than UTF-16 has chars, nor an escape fewer than what it stands for.
        var length = _reader.HasValueSequence ? _reader.ValueSequence.Length : _reader.ValueSpan.Length;
        name = length <= scratch.Length ? scratch[.._reader.CopyString(scratch)] : _reader.GetString().AsSpan();
        _reader.Read();
        return true;
    }

    public readonly JsonTokenType TokenType => _reader.TokenType;

    public readonly bool TryGetDouble(out double value)
    {
        value = 0;
        return _reader.TokenType == JsonTokenType.Number && _reader.TryGetDouble(out value) && double.IsFinite(value);
    }

    public readonly string? GetStringOrNull() => _reader.TokenType == JsonTokenType.String ? _reader.GetString() : null;

    /// <summary>The current value exactly as it appears in the payload (strings keep their quotes), skipping nested content.</summary>
    public ReadOnlyMemory<byte> TakeRawValue()
    {
        var start = (int)_reader.TokenStartIndex;
        if (_reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            _reader.Skip();
        }

        return _json[start..(int)_reader.BytesConsumed].ToArray();
    }

    public void SkipValue()
    {
        if (_reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            _reader.Skip();
        }
    }

    public void ExpectEnd()
    {
        if (_reader.Read())
        {
            throw new TelemetryFormatException("unexpected content after the JSON object");
        }
    }

    /// <summary>Reads a member that a table says is numeric, recording an error instead of a value when it is not a finite number.</summary>
    public void ReadNumeric(NumericField field, string path, List<Measurement> measurements, List<string> errors)
    {
        if (TryGetDouble(out var v))
        {
            measurements.Add(new Measurement(field.Quantity, v, field.Unit));
        }
        else if (_reader.TokenType != JsonTokenType.Null)
        {
            errors.Add($"'{path}' must be a finite number");
            SkipValue();
        }
    }
}

public static class JsonWriting
{
    /// <summary>Compact JSON that keeps '+', '&lt;' and non-ASCII text readable ("(+P)", "°C"): still valid JSON, and never embedded in HTML.</summary>
    public static readonly JsonWriterOptions Options = new()
    {
        SkipValidation = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    // What a writer given back points at, so that it holds on to no caller's buffer.
    private static readonly ArrayBufferWriter<byte> Nowhere = new(1);

    /// <summary>
    /// A writer with <see cref="Options"/> onto <paramref name="output"/>: this thread's, reused, when it is free (a new
    /// writer per encoded reading was half the garbage of encoding one, issue 31). Disposing the lease flushes the writer
    /// and keeps it for the next.
    /// </summary>
    public static RentedJsonWriter Rent(IBufferWriter<byte> output)
    {
        if (t_writer is { } writer)
        {
            t_writer = null;
            writer.Reset(output);
            return new RentedJsonWriter(writer);
        }

        return new RentedJsonWriter(new Utf8JsonWriter(output, Options));
    }

    internal static void Return(Utf8JsonWriter writer)
    {
        writer.Flush();
        writer.Reset(Nowhere);
        t_writer = writer;
    }

    /// <summary>
    /// Writes a value of a wire format the way devices do: integral values without a fraction ("0", not "0.0"), and
    /// never a negative zero (an idle inverter's flipped 0 W is "0", not "-0", which some clients print as such).
    /// </summary>
    internal static void WriteWireNumber(this Utf8JsonWriter writer, string key, double value)
    {
        writer.WritePropertyName(key);
        writer.WriteNumberValue(value == 0 ? 0 : value); // -0 == 0: both become +0
    }

    internal static void WriteRawField(this Utf8JsonWriter writer, string key, ReadOnlyMemory<byte> raw)
    {
        writer.WritePropertyName(key);
        writer.WriteRawValue(raw.Span, skipInputValidation: true);
    }

    internal static Dictionary<string, NumericField> ToLookup(this NumericField[] fields) =>
        fields.ToDictionary(f => f.Key, StringComparer.Ordinal);
}

/// <summary>A <see cref="Utf8JsonWriter"/> lent by <see cref="JsonWriting.Rent"/>; disposing it flushes and gives it back.</summary>
public readonly struct RentedJsonWriter(Utf8JsonWriter writer) : IDisposable
{
    public Utf8JsonWriter Writer { get; } = writer;

    public void Dispose() => JsonWriting.Return(Writer);
}
