using System.Runtime.CompilerServices;
using Wattstream.Server.Composition;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Families.General;

/// <summary>
/// Wattstream's own API: discovery (<c>/api/sites</c>, <c>/api/meters</c>) and the general WebSocket <c>/ws</c>, whose
/// readings come in any payload format another family registered.
/// </summary>
public sealed class GeneralFamily : IWireFamily
{
    // Weak keys: a scope's variant of a format lives as long as that scope's view, and its encoder no longer.
    private readonly ConditionalWeakTable<PayloadFormat, WsReadingEncoder> _readingEncoders = [];

    public GeneralFamily(PayloadFormats formats)
    {
        ArgumentNullException.ThrowIfNull(formats);
        Formats = formats;
        Framing = new WsFeedFraming(this);
    }

    public string Name => "general";

    public PayloadFormats Formats { get; }

    /// <summary>How <c>/ws</c> frames every feed's items.</summary>
    internal Wattstream.Streaming.Feeds.IFeedFraming Framing { get; }

    /// <summary>
    /// The <c>/ws</c> reading encoder of a format (one instance per format, or per scope's variant of it, so every client
    /// of it shares its bytes).
    /// </summary>
    internal WsReadingEncoder ReadingEncoder(PayloadFormat format) => _readingEncoders.GetValue(format, static f => new WsReadingEncoder(f));

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
