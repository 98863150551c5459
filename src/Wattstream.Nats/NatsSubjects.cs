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
    /// Names a reading wherever it is published: <c>{org}.{site}.{device}.{der}:{timestamp}</c>. JetStream de-duplicates
    /// across the whole stream, so the id carries the full address: two organisations' <c>pv-1</c> reporting in the same
    /// millisecond are two readings.
    /// </summary>
    public static string MessageId(DerAddress der, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(der);
        return $"{der.Org}.{der.Site}.{der.Device}.{der.Der}:{timestamp}";
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
