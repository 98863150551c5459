using Wattstream.Server.Composition;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// Clients of a head-end system's backend: meter readings as unnamed SSE events of labelled values, and
/// <c>meter-status</c> events.
/// </summary>
public sealed class HesFamily : IWireFamily
{
    public static FormatId Format { get; } = new("hes");

    public HesFamily()
    {
        Payload = new PayloadFormat(Format, e => e.Reading.Type == DerType.Meter, (e, o) => HesRealtime.Write(e.Reading, o));
        ReadingsSse = new SseEventEncoder(Payload, eventName: null);
    }

    public string Name => Format.Name;

    /// <summary>The real-time data labels of a meter reading (meters only).</summary>
    public PayloadFormat Payload { get; }

    public SseEventEncoder ReadingsSse { get; }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => HesEndpoints.Map(endpoints, Name);
}

public static class HesRegistration
{
    public static WattstreamBuilder AddHes(this WattstreamBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<HesStatusFraming>();
        return builder.AddFamily<HesFamily>();
    }
}
