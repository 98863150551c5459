using System.Text;
using System.Text.Json;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// A DER whose values arrive one per topic (evcc, OpenDTU): the newest value of each measured field and of each other
/// field (kept as extras), so each measured value that arrives makes a reading with everything known so far. Not
/// thread-safe: its format holds its lock around it.
/// </summary>
internal sealed class TopicValuesDer(DerAddress der, DerType type)
{
    // A bound against a topic tree that keeps growing, and against large JSON documents (forecasts, tariff tables):
    // a device's own planning, not a measurement to keep with each reading.
    private const int MaxExtras = 128;
    private const int MaxExtraChars = 256;

    private readonly Dictionary<string, byte[]> _extras = new(StringComparer.Ordinal);
    private long _lastTimestamp = long.MinValue;

    public DerAddress Der { get; } = der;

    public DerType Type { get; } = type;

    public Dictionary<Quantity, Measurement> Measurements { get; } = [];

    /// <summary>Keeps a field the model does not measure as an extra of the DER's next readings.</summary>
    public void Keep(string name, string text)
    {
        if (text.Length <= MaxExtraChars && (_extras.Count < MaxExtras || _extras.ContainsKey(name)))
        {
            _extras[name] = ExtraJson(text);
        }
    }

    /// <summary>
    /// The DER's reading with everything known, at <paramref name="receivedAt"/> — or a millisecond after its last
    /// reading: such devices publish a DER's values in one burst, and the hub drops a DER's second reading of one
    /// millisecond as a duplicate, which would lose the burst's most complete reading.
    /// </summary>
    public Reading Reading(long receivedAt, string origin)
    {
        var at = Math.Max(receivedAt, _lastTimestamp + 1);
        _lastTimestamp = at;
        return new Reading(Der, Type, at, null, [.. Measurements.Values], null, [.. _extras.Select(e => new ReadingField(e.Key, e.Value))], origin);
    }

    // Numbers and true/false stay JSON scalars; a name, a mode or a version is kept as a JSON string.
    private static byte[] ExtraJson(string text)
    {
        if (text.Length > 0)
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                return Encoding.UTF8.GetBytes(document.RootElement.GetRawText());
            }
            catch (JsonException)
            {
                // a bare string
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(text);
    }
}
