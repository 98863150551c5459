using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Storage;

/// <summary>
/// The <c>payload</c> column of a reading's row: only what the row's other columns do not already hold, so that the
/// row, read back with its columns, gives the same reading to the bit. Since schema version 2 (issue 31): writing
/// ~330 bytes of JSON per meter reading, most of it the values the columns hold, was a large part of ingest's time.
/// </summary>
/// <remarks>
/// <para>
/// The form (little-endian): a marker byte <c>0x01</c>; the DER type; flags (1 read time, 2 properties, 4 extras,
/// 8 extras origin); the read time (a double) when flagged; the measurements in their order, each a quantity byte and a
/// unit byte, with <c>0x80</c> on the unit when the value is the column's (converted back to the unit) and otherwise the
/// value as a double; then the properties, the extras (each a name and its raw JSON, length-prefixed) and the origin.
/// The timestamp is the row's <c>ts</c>, the DER its <c>der_id</c>.
/// </para>
/// <para>
/// A value is left to its column only when converting the column's value back gives the very same bits, and it is
/// finite and not −0 (SQLite keeps NaN as NULL and an integral REAL as an integer, which loses −0). Quantities and
/// units are stored by number: their enums only ever grow at the end (a test pins the numbers).
/// </para>
/// <para>
/// Rows written before version 2 hold the whole reading as JSON (<see cref="ReadingJson"/>, starting with <c>{</c>)
/// and are read as they are; nothing rewrites them.
/// </para>
/// </remarks>
public static class StoredPayload
{
    private const byte Marker = 0x01;
    private const byte FromColumn = 0x80;
    private const byte HasReadTime = 1, HasProperties = 2, HasExtras = 4, HasOrigin = 8;

    /// <summary>True when the payload is the whole reading as JSON (rows written before schema version 2).</summary>
    public static bool IsJson(ReadOnlySpan<byte> payload) => payload.Length > 0 && payload[0] == (byte)'{';

    /// <summary>
    /// The payload of a reading whose columns hold <paramref name="columns"/> (indexed by <see cref="HistoryField"/>,
    /// null where the column is NULL), appended to <paramref name="buffer"/> (the writer's own, reused row after row).
    /// </summary>
    public static void Write(Reading reading, ReadOnlySpan<double?> columns, IBufferWriter<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(buffer);
        var flags = (byte)((reading.ReadTimeMs is null ? 0 : HasReadTime)
            | (reading.Properties.Count == 0 ? 0 : HasProperties)
            | (reading.Extras.Count == 0 ? 0 : HasExtras)
            | (reading.ExtrasOrigin is null ? 0 : HasOrigin));
        var head = buffer.GetSpan(3);
        head[0] = Marker;
        head[1] = (byte)reading.Type;
        head[2] = flags;
        buffer.Advance(3);
        if (reading.ReadTimeMs is { } readTime)
        {
            WriteDouble(buffer, readTime);
        }

        var measurements = reading.Measurements;
        WriteLength(buffer, measurements.Count);
        Span<bool> taken = stackalloc bool[HistoryFields.All.Count];
        for (var i = 0; i < measurements.Count; i++)
        {
            var m = measurements[i];
            if ((byte)m.Unit >= FromColumn)
            {
                throw new ArgumentOutOfRangeException(nameof(reading), m.Unit, "a unit number the payload cannot hold");
            }

            var span = buffer.GetSpan(2);
            span[0] = (byte)m.Quantity;
            if (InColumn(reading, m, columns, taken))
            {
                span[1] = (byte)((byte)m.Unit | FromColumn);
                buffer.Advance(2);
            }
            else
            {
                span[1] = (byte)m.Unit;
                buffer.Advance(2);
                WriteDouble(buffer, m.Value);
            }
        }

        if (reading.Properties.Count > 0)
        {
            WriteFields(buffer, reading.Properties);
        }

        if (reading.Extras.Count > 0)
        {
            WriteFields(buffer, reading.Extras);
        }

        if (reading.ExtrasOrigin is { } origin)
        {
            WriteText(buffer, origin);
        }
    }

    /// <summary>
    /// The reading a row holds: <paramref name="payload"/> as written by <see cref="Write"/> (or JSON, before version 2),
    /// with the row's timestamp and column values. Properties and extras share <paramref name="payload"/>'s memory.
    /// </summary>
    public static Reading Read(byte[] payload, DerAddress der, long timestamp, ReadOnlySpan<double?> columns)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (IsJson(payload))
        {
            return ReadingJson.Parse(payload, der);
        }

        try
        {
            var at = 0;
            if (payload[at++] != Marker)
            {
                throw new TelemetryFormatException($"not a stored reading: unknown payload form {payload[0]}");
            }

            var type = (DerType)payload[at++];
            if (!Enum.IsDefined(type))
            {
                throw new TelemetryFormatException($"not a stored reading: unknown DER type {(int)type}");
            }

            var flags = payload[at++];
            double? readTime = (flags & HasReadTime) != 0 ? ReadDouble(payload, ref at) : null;
            var measurements = new Measurement[ReadLength(payload, ref at)];
            for (var i = 0; i < measurements.Length; i++)
            {
                var quantity = (Quantity)payload[at++];
                var unitByte = payload[at++];
                var unit = (Unit)(unitByte & ~FromColumn);
                double value;
                if ((unitByte & FromColumn) != 0)
                {
                    if (!HistoryFields.TryGetField(quantity, type, out var field) || columns[(int)field] is not { } stored
                        || HistoryFields.SourceOf(field, type) is not var (_, storedUnit) || !Units.TryConvert(stored, storedUnit, unit, out value))
                    {
                        throw new TelemetryFormatException($"not a stored reading: {quantity} refers to a column that holds nothing for it");
                    }
                }
                else
                {
                    value = ReadDouble(payload, ref at);
                }

                measurements[i] = new Measurement(quantity, value, unit);
            }

            var properties = (flags & HasProperties) != 0 ? ReadFields(payload, ref at) : null;
            var extras = (flags & HasExtras) != 0 ? ReadFields(payload, ref at) : null;
            var origin = (flags & HasOrigin) != 0 ? ReadText(payload, ref at) : null;
            if (at != payload.Length)
            {
                throw new TelemetryFormatException("not a stored reading: bytes left over");
            }

            return new Reading(der, type, timestamp, readTime, measurements, properties, extras, origin);
        }
        catch (IndexOutOfRangeException e)
        {
            throw new TelemetryFormatException("not a stored reading: cut short", e);
        }
    }

    // The column holds this measurement when the field is read from its quantity (the first of that quantity, which is
    // what Reading.Get reads) and the value comes back from the column exactly.
    private static bool InColumn(Reading reading, Measurement m, ReadOnlySpan<double?> columns, Span<bool> taken)
    {
        if (!HistoryFields.TryGetField(m.Quantity, reading.Type, out var field) || taken[(int)field])
        {
            return false;
        }

        taken[(int)field] = true; // a later measurement of the same quantity is not the one the column holds
        if (columns[(int)field] is not { } stored || !double.IsFinite(stored) || !double.IsFinite(m.Value)
            || HistoryFields.SourceOf(field, reading.Type) is not var (_, storedUnit))
        {
            return false;
        }

        return Units.TryConvert(stored, storedUnit, m.Unit, out var back)
            && BitConverter.DoubleToInt64Bits(back) == BitConverter.DoubleToInt64Bits(m.Value)
            && BitConverter.DoubleToInt64Bits(stored) != BitConverter.DoubleToInt64Bits(-0.0);
    }

    private static void WriteDouble(IBufferWriter<byte> buffer, double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    private static double ReadDouble(byte[] payload, ref int at)
    {
        var value = BinaryPrimitives.ReadDoubleLittleEndian(payload.AsSpan(at, 8));
        at += 8;
        return value;
    }

    // Lengths and counts as unsigned LEB128 (one byte below 128).
    private static void WriteLength(IBufferWriter<byte> buffer, int length)
    {
        var span = buffer.GetSpan(5);
        var n = 0;
        var v = (uint)length;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }

        span[n++] = (byte)v;
        buffer.Advance(n);
    }

    private static int ReadLength(byte[] payload, ref int at)
    {
        var result = 0;
        for (var shift = 0; shift < 32; shift += 7)
        {
            var b = payload[at++];
            result |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                // Every counted item takes at least a byte: a count past the end is damage, not a reason to allocate.
                return result >= 0 && result <= payload.Length - at ? result : throw new TelemetryFormatException("not a stored reading: a length past its end");
            }
        }

        throw new TelemetryFormatException("not a stored reading: a length too long");
    }

    private static void WriteBytes(IBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes)
    {
        WriteLength(buffer, bytes.Length);
        buffer.Write(bytes);
    }

    private static void WriteText(IBufferWriter<byte> buffer, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        WriteLength(buffer, length);
        var written = Encoding.UTF8.GetBytes(text, buffer.GetSpan(length));
        buffer.Advance(written);
    }

    private static ReadOnlyMemory<byte> ReadBytes(byte[] payload, ref int at)
    {
        var length = ReadLength(payload, ref at); // within the payload: ReadLength refuses one past its end
        var bytes = new ReadOnlyMemory<byte>(payload, at, length);
        at += length;
        return bytes;
    }

    private static string ReadText(byte[] payload, ref int at) => Encoding.UTF8.GetString(ReadBytes(payload, ref at).Span);

    private static void WriteFields(IBufferWriter<byte> buffer, IReadOnlyList<ReadingField> fields)
    {
        WriteLength(buffer, fields.Count);
        foreach (var f in fields)
        {
            WriteText(buffer, f.Name);
            WriteBytes(buffer, f.RawJson.Span);
        }
    }

    private static ReadingField[] ReadFields(byte[] payload, ref int at)
    {
        var fields = new ReadingField[ReadLength(payload, ref at)];
        for (var i = 0; i < fields.Length; i++)
        {
            var name = ReadText(payload, ref at);
            fields[i] = new ReadingField(name, ReadBytes(payload, ref at));
        }

        return fields;
    }
}
