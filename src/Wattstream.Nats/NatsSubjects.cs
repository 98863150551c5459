using Wattstream.Telemetry;

namespace Wattstream.Nats;

/// <summary>The subjects the hub publishes on (docs/protocol.md).</summary>
public static class NatsSubjects
{
    /// <summary>Every telemetry subject: what the JetStream stream captures.</summary>
    public const string AllTelemetry = "orgs.*.sites.*.devices.*.ders.*.telemetry.json.v1";

    /// <summary>Gateway telemetry: <c>gateways.{serial}.devices.{device}.ders.{type}.telemetry.json.v1</c>.</summary>
    public const string AllGatewayTelemetry = "gateways.*.devices.*.ders.*.telemetry.json.v1";

    /// <summary>The header that names the hub a message came from, so a hub that also reads NATS skips its own.</summary>
    public const string OriginHeader = "Wattstream-Origin";

    /// <summary>JetStream's de-duplication header (<see cref="MessageId"/>).</summary>
    public const string MessageIdHeader = "Nats-Msg-Id";

    /// <summary>
    /// The telemetry subjects <paramref name="pattern"/> stands for, written as a subset of <see cref="AllTelemetry"/>
    /// (JetStream takes a consumer filter only in that form): <c>orgs.*.sites.plant.&gt;</c> becomes
    /// <c>orgs.*.sites.plant.devices.*.ders.*.telemetry.json.v1</c>. Null when it stands for no telemetry subject.
    /// </summary>
    public static string? TelemetryFilter(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var template = AllTelemetry.Split('.');
        var tokens = pattern.Split('.');
        var filter = new string[template.Length];
        for (var i = 0; i < template.Length; i++)
        {
            if (i >= tokens.Length)
            {
                return null; // shorter than a telemetry subject, without '>'
            }

            if (tokens[i] == ">")
            {
                template.AsSpan(i).CopyTo(filter.AsSpan(i));
                return string.Join('.', filter);
            }

            if (tokens[i] != "*" && template[i] != "*" && tokens[i] != template[i])
            {
                return null;
            }

            filter[i] = tokens[i] == "*" ? template[i] : tokens[i];
        }

        return tokens.Length == template.Length ? string.Join('.', filter) : null;
    }

    /// <summary>The DER of a telemetry subject, <c>orgs.{org}.sites.{site}.devices.{device}.ders.{der}.telemetry.json.v1</c>.</summary>
    public static DerAddress? TelemetryAddress(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return subject.Split('.') is ["orgs", var org, "sites", var site, "devices", var device, "ders", var der, "telemetry", "json", "v1"]
            && DerAddress.TryCreate(org, site, device, der, out var address)
            ? address
            : null;
    }

    public static string Status(DerAddress der)
    {
        ArgumentNullException.ThrowIfNull(der);
        return Subjects.Status(der.Org, der.Site, der.Device, der.Der);
    }
}
