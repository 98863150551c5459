using System.Reflection;
using Wattstream.Alerts;
using Wattstream.Alerts.Webhooks;
using Wattstream.Energy;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Nats;
using Wattstream.Server.Access;
using Wattstream.Server.Audit;
using Wattstream.Server.Endpoints.Ingest;
using Wattstream.Server.Transports.Sse;
using Wattstream.Server.Transports.WebSockets;
using Wattstream.Simulation;
using Wattstream.Sources;
using Wattstream.Storage;
using Wattstream.Streaming;

namespace Wattstream.Server.Composition.Settings;

/// <summary>
/// Every section of Wattstream's settings, in one place, with the type that binds it; the keys come from the types.
/// A feature that binds a new section adds its line here (<see cref="ValidatedOptions.AddValidatedOptions{T}"/>
/// refuses a section missing from this list, so none can be forgotten).
/// </summary>
public static class WattstreamSettings
{
    /// <summary>The sources list (<c>Sources:N:…</c>), read by <c>ConfiguredSourcesReader</c>.</summary>
    public const string SourcesSection = "Sources";

    /// <summary>The settings per site (time zone, tariff), bound from the configuration's root by <c>SitesOptions</c>.</summary>
    public const string SitesSection = "Sites";

    public static SettingsRegistry Registry { get; } = new SettingsRegistry()
        .Add<HubOptions>(HubOptions.SectionName)
        .Add<StatusOptions>(StatusOptions.SectionName)
        .Add<StreamingOptions>(StreamingOptions.SectionName)
        .Add<SseOptions>(SseOptions.SectionName)
        .Add<WebSocketStreamingOptions>(WebSocketStreamingOptions.SectionName)
        .Add<SourceTimingOptions>(SourceTimingOptions.SectionName)
        .Add(SourcesSection, typeof(List<SourceOptions>), SourceSettingApplies)
        .Add<SimulationOptions>(SimulationOptions.SectionName)
        .Add<StorageOptions>(StorageOptions.SectionName)
        .Add<AuthOptions>(AuthOptions.SectionName)
        .Add<LimitsOptions>(LimitsOptions.SectionName)
        .Add<IngestOptions>(IngestOptions.SectionName)
        .Add<CrossOriginOptions>(CrossOriginOptions.SectionName)
        .Add<string[]>(TrustedProxies.Setting)
        .Add<bool>(Binding.InsecureSetting)
        .Add<AlertsOptions>(AlertsOptions.SectionName)
        .Add<WebhookDeliveryOptions>(WebhookDeliveryOptions.SectionName)
        .Add<AuditOptions>(AuditOptions.SectionName)
        .Add<EnergyOptions>(EnergyOptions.SectionName)
        .Add<Dictionary<string, SiteSettings>>(SitesSection)
        .Add<NatsOptions>(NatsOptions.SectionName)
        .Add<Wattstream.Mqtt.Publishing.MqttPublishOptions>(Wattstream.Mqtt.Publishing.MqttPublishOptions.SectionName)
        .Add<Wattstream.Mqtt.Broker.MqttBrokerOptions>(Wattstream.Mqtt.Broker.MqttBrokerOptions.SectionName);

    // A source's settings are those of its kind: a setting marked for other kinds is named, not ignored.
    private static string? SourceSettingApplies(IConfigurationSection source, PropertyInfo property)
    {
        var kind = default(SourceKind); // the binder's, when Kind is absent
        if (property.GetCustomAttribute<SourceKindsAttribute>() is not { } marked
            || (source[nameof(SourceOptions.Kind)] is { } written && !Enum.TryParse(written, ignoreCase: true, out kind))
            || marked.Kinds.Contains(kind))
        {
            return null; // an unknown kind is named by the kind's own check
        }

        return $"of a {Name(kind)} source ({string.Join(" and ", marked.Kinds.Select(Name))} sources take it)";
    }

    private static string Name(SourceKind kind) => kind.ToString().ToLowerInvariant();
}
