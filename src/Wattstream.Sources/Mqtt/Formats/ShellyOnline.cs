using System.Text;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// Shelly's <c>online</c> topic (its last will, <c>true</c>/<c>false</c>), the same for Gen1 and Gen2+: it concerns every
/// meter DER read from the device so far, or the device itself before any reading. Thread-safe.
/// </summary>
internal sealed class ShellyOnline(MqttAddressing addressing)
{
    private readonly Dictionary<string, HashSet<DerAddress>> _dersByDevice = new(StringComparer.Ordinal);

    /// <summary>Remembers that <paramref name="der"/> was read from <paramref name="device"/>.</summary>
    public void Seen(string device, DerAddress der)
    {
        lock (_dersByDevice)
        {
            if (!_dersByDevice.TryGetValue(device, out var seen))
            {
                _dersByDevice[device] = seen = [];
            }

            seen.Add(der);
        }
    }

    public MqttContent Read(string device, ReadOnlySpan<byte> payload)
    {
        var text = Encoding.UTF8.GetString(payload).Trim();
        var online = text switch
        {
            "true" => true,
            "false" => false,
            _ => throw new TelemetryFormatException($"an online payload must be true or false, not '{Excerpt.Of(text, 20)}'"),
        };
        DerAddress[] ders;
        lock (_dersByDevice)
        {
            ders = _dersByDevice.TryGetValue(device, out var seen) && seen.Count > 0 ? [.. seen] : [addressing.Address(device)];
        }

        return MqttContent.Of(new MqttAvailability([.. ders.Select(d => (d, DerType.Meter))], online));
    }
}
