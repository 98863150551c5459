using System.Buffers;
using System.Text.Json;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// A lossless JSON form of a reading: every measurement with its quantity and unit as stored, the known properties and
/// the extras with their origin. <c>Parse(ToUtf8(r))</c> gives back the same reading, to the bit. History's rows held it
/// until schema version 2 and are still read with it (<c>StoredPayload</c>); tests compare readings by it.
/// </summary>
/// <example><c>{"type":"meter","timestamp":1724502840000,"m":[["ActivePowerImport",0.036,"Kilowatt"]],"p":{"local_date":"2024-08-24"},"x":{},"xo":null}</c></example>
public static class ReadingJson
{
    public static byte[] ToUtf8(Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            w.WriteStartObject();
            w.WriteString("type", reading.Type.ToWireName());
            w.WriteNumber("timestamp", reading.Timestamp);
            if (reading.ReadTimeMs is { } rt)
            {
                w.WriteNumber("read_time_ms", rt);
            }

            w.WriteStartArray("m");
            foreach (var m in reading.Measurements)
            {
                w.WriteStartArray();
                w.WriteStringValue(QuantityNames[(int)m.Quantity]);
                w.WriteNumberValue(m.Value);
                w.WriteStringValue(UnitNames[(int)m.Unit]);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            WriteFields(w, "p", reading.Properties);
            WriteFields(w, "x", reading.Extras);
            if (reading.ExtrasOrigin is { } origin)
            {
                w.WriteString("xo", origin);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var root = doc.RootElement;
            if (!DerTypes.TryParse(root.GetProperty("type").GetString(), out var type))
            {
                throw new TelemetryFormatException("unknown type");
            }

            var measurements = new List<Measurement>();
            foreach (var m in root.GetProperty("m").EnumerateArray())
            {
                measurements.Add(new Measurement(
                    Enum.Parse<Quantity>(m[0].GetString()!),
                    m[1].GetDouble(),
                    Enum.Parse<Unit>(m[2].GetString()!)));
            }

            return new Reading(
                der,
                type,
                root.GetProperty("timestamp").GetInt64(),
                root.TryGetProperty("read_time_ms", out var rt) ? rt.GetDouble() : null,
                measurements,
                ReadFields(root, "p"),
                ReadFields(root, "x"),
                root.TryGetProperty("xo", out var xo) ? xo.GetString() : null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new TelemetryFormatException($"not a stored reading: {e.Message}", e);
        }
    }

    private static readonly string[] QuantityNames = Enum.GetNames<Quantity>();
    private static readonly string[] UnitNames = Enum.GetNames<Unit>();

    private static void WriteFields(Utf8JsonWriter w, string name, IReadOnlyList<ReadingField> fields)
    {
        if (fields.Count == 0)
        {
            return;
        }

        w.WriteStartObject(name);
        foreach (var f in fields)
        {
            w.WritePropertyName(f.Name);
            w.WriteRawValue(f.RawJson.Span, skipInputValidation: true);
        }

        w.WriteEndObject();
    }

    private static List<ReadingField> ReadFields(JsonElement root, string name)
    {
        var fields = new List<ReadingField>();
        if (root.TryGetProperty(name, out var obj))
        {
            foreach (var p in obj.EnumerateObject())
            {
                fields.Add(new ReadingField(p.Name, System.Text.Encoding.UTF8.GetBytes(p.Value.GetRawText())));
            }
        }

        return fields;
    }
}
