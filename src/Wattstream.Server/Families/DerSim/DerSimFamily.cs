using Wattstream.Server.Composition;
using Wattstream.Streaming.Formats;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.DerSim;

/// <summary>
/// Clients written for the DER simulator: its overview snapshot over REST and its telemetry WebSocket. The hub's PV,
/// battery and EV charger DERs are its devices (<see cref="DerSimDevices"/>).
/// </summary>
public sealed class DerSimFamily : IWireFamily
{
    public static FormatId Format { get; } = new(DerSimOverview.FormatName);

    public DerSimFamily(DerSimDevices devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        Devices = devices;
        Payload = devices.Everything.Payload;
    }

    public string Name => Format.Name;

    public DerSimDevices Devices { get; }

    /// <summary>
    /// The overview snapshot numbered over every device (not meters); a caller gets the payload of its own view
    /// (<see cref="DerSimDevices.For"/>), on the DERSim endpoints and on <c>/ws</c>.
    /// </summary>
    public PayloadFormat Payload { get; }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => DerSimEndpoints.Map(endpoints, Name);
}

public static class DerSimRegistration
{
    public static WattstreamBuilder AddDerSim(this WattstreamBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<DerSimDevices>();
        return builder.AddFamily<DerSimFamily>().AddPayloadFormat<DerSimFamily>(f => f.Payload, forScope: f => scope => f.Devices.For(scope).Payload);
    }
}
