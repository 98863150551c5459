using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// Any device that publishes JSON or bare numbers, mapped in the settings (<c>Mappings</c>): each mapping's topic filter
/// names a DER (fixed, or from the filter's <c>+</c> levels) and where each of its values is in a message, with the
/// unit it is in and a factor. A DER's values may come from several topics: each message that carries one publishes
/// the DER's reading with the newest value of everything known about it.
/// </summary>
/// <remarks>
/// The settings are checked at start (<see cref="Check"/>): a bad filter, type, quantity, unit, path or placeholder stops
/// the start naming its key. A mapped value that is present but not a number is a malformed message; one that is
/// absent or null is simply not in this message.
/// </remarks>
public sealed partial class JsonFormat : IMqttFormat
{
    public const string FormatName = "json";

    // A bound on the DERs named from topics ({1}), against a topic tree that keeps growing.
    private const int MaxDers = 4096;

    private readonly Mapping[] _mappings;
    private readonly Lock _gate = new();
    private readonly Dictionary<DerAddress, TopicValuesDer> _ders = [];

    public JsonFormat(MqttAddressing addressing)
    {
        ArgumentNullException.ThrowIfNull(addressing);
        var errors = new List<string>();
        _mappings = Compile(addressing.Options, errors);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Source {addressing.Options.Id}: {string.Join(" ", errors)}");
        }

        DefaultTopics = [.. _mappings.Select(m => m.Filter).Distinct(StringComparer.Ordinal)];
    }

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics { get; }

    /// <summary>What is wrong with a source's <c>Mappings</c>, each message naming its key; empty when they are good.</summary>
    public static IReadOnlyList<string> Check(SourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        Compile(options, errors);
        return errors;
    }

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/');
        JsonDocument? document = null;
        try
        {
            var readings = new List<MqttReading>(1);
            foreach (var mapping in _mappings)
            {
                if (Match(mapping.Levels, levels) is not { } wildcards)
                {
                    continue;
                }

                document ??= Parse(payload);
                var values = new List<Measurement>(mapping.Fields.Length);
                var errors = new List<string>();
                foreach (var field in mapping.Fields)
                {
                    if (Find(document.RootElement, field.Path) is { } element && Number(element, field, errors) is { } value)
                    {
                        values.Add(new Measurement(field.Quantity, value * field.Scale, field.Unit));
                    }
                }

                TelemetryFormatException.ThrowIfAny(errors);
                if (values.Count == 0)
                {
                    continue; // this message holds none of the mapping's values
                }

                var der = Address(mapping, wildcards);
                lock (_gate)
                {
                    if (!_ders.TryGetValue(der, out var state))
                    {
                        if (_ders.Count >= MaxDers)
                        {
                            throw new TelemetryFormatException($"more than {MaxDers} DERs named from topics; narrow the mapping's Topic");
                        }

                        state = new TopicValuesDer(der, mapping.Type);
                        _ders[der] = state;
                    }

                    foreach (var value in values)
                    {
                        state.Measurements[value.Quantity] = value;
                    }

                    readings.Add(new MqttReading(state.Reading(receivedAt, FormatName), null)); // no device time in a generic payload
                }
            }

            return readings.Count == 0 ? MqttContent.Nothing : new MqttContent(readings, null);
        }
        finally
        {
            document?.Dispose();
        }
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw TelemetryFormatException.Malformed(e);
        }
    }

    // The levels each '+' of the filter matched, or null when the topic is not the filter's.
    private static string[]? Match(string[] filter, string[] topic)
    {
        var wildcards = new List<string>(2);
        for (var i = 0; i < filter.Length; i++)
        {
            if (filter[i] == "#")
            {
                return [.. wildcards];
            }

            if (i >= topic.Length)
            {
                return null;
            }

            if (filter[i] == "+")
            {
                wildcards.Add(topic[i]);
            }
            else if (filter[i] != topic[i])
            {
                return null;
            }
        }

        return filter.Length == topic.Length ? [.. wildcards] : null;
    }

    private static JsonElement? Find(JsonElement root, PathStep[] path)
    {
        var at = root;
        foreach (var step in path)
        {
            if (step.Name is { } name)
            {
                if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(name, out at))
                {
                    return null;
                }
            }
            else if (at.ValueKind != JsonValueKind.Array || step.Index >= at.GetArrayLength())
            {
                return null;
            }
            else
            {
                at = at[step.Index];
            }
        }

        return at.ValueKind == JsonValueKind.Null ? null : at;
    }

    // A number, or a number written as a string ("230.1", as some firmwares send).
    private static double? Number(JsonElement element, Field field, List<string> errors)
    {
        if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number) && double.IsFinite(number))
        {
            return number;
        }

        if (element.ValueKind == JsonValueKind.String
            && double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number))
        {
            return number;
        }

        errors.Add($"'{field.PathText}' ({field.Quantity}) must be a number");
        return null;
    }

    private static DerAddress Address(Mapping mapping, string[] wildcards)
    {
        var device = mapping.Device.Fill(wildcards);
        var der = mapping.Der.Fill(wildcards);
        return DerAddress.TryCreate(mapping.Org, mapping.Site, device, der, out var address)
            ? address!
            : throw new TelemetryFormatException($"'{Excerpt.Of(device, 64)}'/'{Excerpt.Of(der, 64)}' from the topic does not make a device and DER id ({Subjects.TokenRule})");
    }

    private static Mapping[] Compile(SourceOptions options, List<string> errors)
    {
        if (options.Mappings.Count == 0)
        {
            errors.Add("Mappings of a json mqtt source must hold at least one mapping (Mappings:0:Topic, Mappings:0:Type, Mappings:0:Fields:<Quantity>:Path, …).");
            return [];
        }

        var mappings = new List<Mapping>(options.Mappings.Count);
        for (var m = 0; m < options.Mappings.Count; m++)
        {
            if (Compile(options, options.Mappings[m], $"Mappings:{m}", errors) is { } mapping)
            {
                mappings.Add(mapping);
            }
        }

        // Two mappings of one DER (a fixed id) must agree on what it is.
        foreach (var clash in mappings.Where(m => m.Device.IsFixed && m.Der.IsFixed).GroupBy(m => (m.Device.Fill([]), m.Der.Fill([]))).Where(g => g.Select(m => m.Type).Distinct().Count() > 1))
        {
            errors.Add($"Mappings of a json mqtt source: DER '{clash.Key.Item2}' of device '{clash.Key.Item1}' is given two types ({string.Join(", ", clash.Select(m => m.Type.ToWireName()).Distinct())}); give each its own Der.");
        }

        return [.. mappings];
    }

    private static Mapping? Compile(SourceOptions options, JsonMappingOptions? mapping, string key, List<string> errors)
    {
        var before = errors.Count;
        if (mapping is null)
        {
            errors.Add($"{key} is empty.");
            return null;
        }

        var filter = mapping.Topic;
        var levels = string.IsNullOrWhiteSpace(filter) ? [] : filter.Split('/');
        if (!IsFilter(levels))
        {
            errors.Add($"{key}:Topic must be an MQTT topic filter ('+' a whole level, '#' only the last), not '{filter}'.");
        }

        var type = DerType.Meter;
        if (mapping.Type is null || !DerTypes.TryParse(mapping.Type.Trim().ToLowerInvariant(), out type))
        {
            errors.Add($"{key}:Type must be meter, pv, battery or v2x_charger, not '{mapping.Type}'.");
        }

        var wildcardCount = levels.Count(l => l == "+");
        var device = Template.Parse(mapping.Device ?? options.DeviceId, $"{key}:Device", wildcardCount, errors);
        var der = mapping.Der is null ? device : Template.Parse(mapping.Der, $"{key}:Der", wildcardCount, errors);

        if (mapping.Fields.Count == 0)
        {
            errors.Add($"{key}:Fields must map at least one quantity (e.g. {key}:Fields:ActivePower:Path=ENERGY.Power).");
        }

        var fields = new List<Field>(mapping.Fields.Count);
        foreach (var (name, field) in mapping.Fields)
        {
            var fieldKey = $"{key}:Fields:{name}";
            var known = Enum.GetNames<Quantity>().FirstOrDefault(q => q.Equals(name, StringComparison.OrdinalIgnoreCase));
            var quantity = known is null ? default : Enum.Parse<Quantity>(known);
            if (known is null)
            {
                errors.Add($"{fieldKey}: '{name}' is not a quantity of the model (ActivePower, ActivePowerL1, EnergyImport, EnergyExport, Voltage, Current, StateOfCharge, EnergyGenerated, …).");
            }

            if (field?.Path is not { } pathText || JsonPath.Parse(pathText) is not { } path)
            {
                errors.Add($"{fieldKey}:Path must be '$' or members and indexes like ENERGY.Power or data[0].p, not '{field?.Path}'.");
                continue;
            }

            if (!TryParseUnit(field.Unit, out var unit))
            {
                errors.Add($"{fieldKey}:Unit must be a unit such as W, kW, Wh, kWh, var, VA, V, A, Hz, °C, % or 'none', not '{field.Unit}'.");
            }

            if (!double.IsFinite(field.Scale) || field.Scale == 0)
            {
                errors.Add($"{fieldKey}:Scale must be a finite number other than 0, not {field.Scale.ToString(CultureInfo.InvariantCulture)}.");
            }

            fields.Add(new Field(quantity, path, pathText, unit, field.Scale));
        }

        return errors.Count > before ? null : new Mapping(filter!, levels, type, options.Org, options.Site, device!, der!, [.. fields]);
    }

    private static bool IsFilter(string[] levels) =>
        levels.Length > 0
        && levels.All(l => l is "+" or "#" || !l.AsSpan().ContainsAny('+', '#'))
        && Array.IndexOf(levels, "#") is var hash && (hash < 0 || hash == levels.Length - 1);

    private static bool TryParseUnit(string? text, out Unit unit)
    {
        unit = Unit.None;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var candidate in Enum.GetValues<Unit>())
        {
            var symbol = candidate.Symbol();
            if ((symbol.Length > 0 && symbol.Equals(text, StringComparison.Ordinal)) || candidate.ToString().Equals(text, StringComparison.OrdinalIgnoreCase))
            {
                unit = candidate;
                return true;
            }
        }

        return false;
    }

    private sealed record Mapping(string Filter, string[] Levels, DerType Type, string Org, string Site, Template Device, Template Der, Field[] Fields);

    private sealed record Field(Quantity Quantity, PathStep[] Path, string PathText, Unit Unit, double Scale);

    /// <summary>One step of a path: a member by name, or an array item by index.</summary>
    private readonly record struct PathStep(string? Name, int Index);

    /// <summary><c>$</c>, or members and indexes: <c>ENERGY.Power</c>, <c>data[0].p</c>, <c>$.a[2]</c>.</summary>
    private static class JsonPath
    {
        public static PathStep[]? Parse(string text)
        {
            var path = text.Trim();
            if (path == "$")
            {
                return [];
            }

            if (path.StartsWith("$.", StringComparison.Ordinal) || path.StartsWith("$[", StringComparison.Ordinal))
            {
                path = path[(path[1] == '.' ? 2 : 1)..];
            }

            var steps = new List<PathStep>();
            var i = 0;
            while (i < path.Length)
            {
                if (path[i] == '[')
                {
                    var close = path.IndexOf(']', i);
                    if (close < 0 || !int.TryParse(path.AsSpan(i + 1, close - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    {
                        return null;
                    }

                    steps.Add(new PathStep(null, index));
                    i = close + 1;
                }
                else
                {
                    var end = path.IndexOfAny(['.', '['], i);
                    end = end < 0 ? path.Length : end;
                    if (end == i || path.AsSpan(i, end - i).ContainsAny(']', '$'))
                    {
                        return null;
                    }

                    steps.Add(new PathStep(path[i..end], 0));
                    i = end;
                }

                if (i < path.Length && path[i] == '.')
                {
                    i++;
                    if (i == path.Length)
                    {
                        return null; // a trailing dot
                    }
                }
                else if (i < path.Length && path[i] != '[')
                {
                    return null;
                }
            }

            return steps.Count == 0 ? null : [.. steps];
        }
    }

    /// <summary>An id with <c>{n}</c> placeholders for the topic's <c>+</c> levels.</summary>
    private sealed partial class Template(string text, bool isFixed)
    {
        public bool IsFixed { get; } = isFixed;

        public static Template? Parse(string text, string key, int wildcards, List<string> errors)
        {
            var placeholders = Placeholder().Matches(text);
            foreach (Match placeholder in placeholders)
            {
                var n = int.Parse(placeholder.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
                if (n < 1 || n > wildcards)
                {
                    errors.Add($"{key}: '{placeholder.Value}' needs a {Ordinal(n)} '+' in the mapping's Topic, which has {wildcards}.");
                    return null;
                }
            }

            var isFixed = placeholders.Count == 0;
            var probe = Placeholder().Replace(text, "x");
            if (!Subjects.IsValidToken(probe))
            {
                errors.Add($"{key}: '{text}' is not a valid id ({Subjects.TokenRule}; {{1}}, {{2}}, … for the topic's '+' levels).");
                return null;
            }

            return new Template(text, isFixed);
        }

        public string Fill(string[] wildcards) =>
            IsFixed ? text : Placeholder().Replace(text, m => wildcards[int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture) - 1]);

        private static string Ordinal(int n) => n switch { 1 => "1st", 2 => "2nd", 3 => "3rd", _ => $"{n}th" };

        [GeneratedRegex(@"\{(\d{1,2})\}")]
        private static partial Regex Placeholder();
    }
}
