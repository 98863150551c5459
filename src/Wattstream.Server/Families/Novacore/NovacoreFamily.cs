using Wattstream.Server.Composition;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.Novacore;

/// <summary>Clients written for Novacore: one SSE stream per site, every DER's readings as unnamed events.</summary>
public sealed class NovacoreFamily : IWireFamily
{
    public static FormatId Format { get; } = new(NovacoreReading.FormatName);

    public NovacoreFamily()
    {
        Payload = new PayloadFormat(Format, _ => true, (e, o) => NovacoreReading.Write(e.Reading, o));
        Sse = new SseEventEncoder(Payload, eventName: null);
    }

    public string Name => Format.Name;

    /// <summary>The Novacore reading (any DER type); the default payload of <c>/ws</c>.</summary>
    public PayloadFormat Payload { get; }

    public SseEventEncoder Sse { get; }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => NovacoreEndpoints.Map(endpoints, Name);
}

public static class NovacoreRegistration
{
    public static WattstreamBuilder AddNovacore(this WattstreamBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddFamily<NovacoreFamily>().AddPayloadFormat<NovacoreFamily>(f => f.Payload, isDefault: true);
    }
}
