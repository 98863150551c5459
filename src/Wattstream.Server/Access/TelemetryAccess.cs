using Wattstream.Streaming.Access;

namespace Wattstream.Server.Access;

/// <summary>The one authorization point: resolves the caller of a request to what it may see.</summary>
public interface ITelemetryAccess
{
    TelemetryScope Resolve(HttpContext context);

    /// <summary>Where the caller of a request may push readings.</summary>
    TelemetryScope ResolvePublish(HttpContext context);
}

/// <summary>
/// No tokens configured: every caller sees everything, except one that gave the device password on a device path,
/// which reads what <c>Auth:Device:Orgs</c> and <c>Sites</c> grant (everything when they are not set).
/// </summary>
public sealed class OpenAccess : ITelemetryAccess
{
    public TelemetryScope Resolve(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Caller.Of(context.User) is { } device ? device.Scope : TelemetryScope.Everything;
    }

    public TelemetryScope ResolvePublish(HttpContext context) => TelemetryScope.Everything;
}

/// <summary>Tokens configured: a caller sees the orgs and sites of its token, and nothing without one.</summary>
public sealed class TokenAccess : ITelemetryAccess
{
    public TelemetryScope Resolve(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Caller.Of(context.User) is { } caller && caller.Can(CallerScopes.Read) ? caller.Scope : TelemetryScope.Nothing;
    }

    public TelemetryScope ResolvePublish(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Caller.Of(context.User) is { } caller && caller.Can(CallerScopes.Publish) ? caller.Scope : TelemetryScope.Nothing;
    }
}
