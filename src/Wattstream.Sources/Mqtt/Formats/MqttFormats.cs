namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>The formats an mqtt source reads, by their setting's name.</summary>
public static class MqttFormats
{
    private static readonly Dictionary<string, Func<MqttAddressing, IMqttFormat>> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        [TasmotaFormat.FormatName] = a => new TasmotaFormat(a),
        [ShellyGen2Format.FormatName] = a => new ShellyGen2Format(a),
        [ShellyGen1Format.FormatName] = a => new ShellyGen1Format(a),
        [EvccFormat.FormatName] = a => new EvccFormat(a),
        [OpenDtuFormat.FormatName] = a => new OpenDtuFormat(a),
        [VictronFormat.FormatName] = a => new VictronFormat(a),
        [JsonFormat.FormatName] = a => new JsonFormat(a),
    };

    public static IReadOnlyList<string> Names { get; } = [.. ByName.Keys];

    public static bool IsKnown(string? name) => name is not null && ByName.ContainsKey(name);

    public static IMqttFormat Create(string name, MqttAddressing addressing) =>
        ByName.TryGetValue(name, out var create) ? create(addressing) : throw new ArgumentException($"unknown MQTT format '{name}'", nameof(name));
}
