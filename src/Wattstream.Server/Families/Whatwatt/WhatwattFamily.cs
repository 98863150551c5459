using Wattstream.Server.Composition;
using Wattstream.Server.Transports.Sse;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.Whatwatt;

/// <summary>
/// Clients written for the whatwatt Go smart-meter adapter: its live SSE stream (<c>event: live</c>), report and system
/// endpoints, for every meter the hub knows.
/// </summary>
public sealed class WhatwattFamily : IWireFamily
{
    public static FormatId Format { get; } = new(WhatwattLive.FormatName);

    public WhatwattFamily()
    {
        Payload = new PayloadFormat(Format, e => e.Reading.Type == DerType.Meter, (e, o) => WhatwattLive.Write(e.Reading, o));
        LiveSse = new SseEventEncoder(Payload, "live");
    }

    public string Name => Format.Name;

    /// <summary>The device's live object (meters only).</summary>
    public PayloadFormat Payload { get; }

    /// <summary><c>event: live</c> frames, as the device sends them.</summary>
    public SseEventEncoder LiveSse { get; }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => WhatwattEndpoints.Map(endpoints, Name);
}

public static class WhatwattRegistration
{
    public static WattstreamBuilder AddWhatwatt(this WattstreamBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<WhatwattDeviceView>();
        return builder.AddFamily<WhatwattFamily>().AddPayloadFormat<WhatwattFamily>(f => f.Payload);
    }
}
