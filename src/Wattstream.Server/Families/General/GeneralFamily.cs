using Wattstream.Server.Composition;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Families.General;

/// <summary>
/// Wattstream's own API: discovery (<c>/api/sites</c>, <c>/api/meters</c>) and the general WebSocket <c>/ws</c>, whose
/// readings come in any payload format another family registered.
/// </summary>
public sealed class GeneralFamily : IWireFamily
{
    private readonly Dictionary<PayloadFormat, WsReadingEncoder> _readingEncoders;

    public GeneralFamily(PayloadFormats formats)
    {
        ArgumentNullException.ThrowIfNull(formats);
        Formats = formats;
        _readingEncoders = formats.All.ToDictionary(f => f, f => new WsReadingEncoder(f));
    }

    public string Name => "general";

    public PayloadFormats Formats { get; }

    /// <summary>The <c>/ws</c> reading encoder of a format (one instance per format, so every client shares its bytes).</summary>
    internal WsReadingEncoder ReadingEncoder(PayloadFormat format) => _readingEncoders[format];

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        DiscoveryEndpoints.Map(endpoints);
        TelemetryWebSocket.Map(endpoints, Name);
    }
}

public static class GeneralRegistration
{
    public static WattstreamBuilder AddGeneral(this WattstreamBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddFamily<GeneralFamily>();
    }
}
