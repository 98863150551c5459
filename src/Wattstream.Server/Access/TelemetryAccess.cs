using Wattstream.Streaming.Access;

namespace Wattstream.Server.Access;

/// <summary>The one authorization point: resolves the caller of a request to what it may see.</summary>
public interface ITelemetryAccess
{
    TelemetryScope Resolve(HttpContext context);
}

/// <summary>No tokens configured: every caller sees everything.</summary>
public sealed class OpenAccess : ITelemetryAccess
{
    public TelemetryScope Resolve(HttpContext context) => TelemetryScope.Everything;
}
