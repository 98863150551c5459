using System.Globalization;
using System.Security.Claims;
using Wattstream.Streaming.Access;

namespace Wattstream.Server.Access;

/// <summary>What a caller may do, besides reading.</summary>
[Flags]
public enum CallerScopes
{
    None = 0,

    /// <summary>Read streams, discovery and history of its orgs and sites.</summary>
    Read = 1,

    /// <summary>Push readings into its orgs and sites.</summary>
    Publish = 2,

    /// <summary>Sources, storage, metrics: the hub itself.</summary>
    Admin = 4,
}

/// <summary>
/// A caller as its token describes it. Claims: <c>org</c> (one, several, or <c>*</c> for every org), <c>sites</c>
/// (several, or <c>*</c>/absent for every site of its orgs), <c>scope</c> (space separated: read publish admin).
/// </summary>
public sealed record Caller(string Name, IReadOnlySet<string>? Orgs, IReadOnlySet<string>? Sites, CallerScopes Scopes, DateTimeOffset? ExpiresAt)
{
    /// <summary>Who issued the caller's credential (a token's <c>iss</c>; null for keys and the device password).</summary>
    public string? Issuer { get; init; }

    /// <summary>
    /// The partition of the per-caller limits: issuer, subject and orgs, so two organisations' tokens that happen to
    /// share a subject ("gateway") do not share a limit.
    /// </summary>
    public string LimitKey => $"{Issuer}|{Name}|{(Orgs is null ? "*" : string.Join(',', Orgs.Order(StringComparer.Ordinal)))}";

    /// <summary>An admin of every org: the hub's own endpoints (sources, storage, metrics, NATS) are for it alone.</summary>
    public bool IsHubAdmin => Can(CallerScopes.Admin) && Orgs is null;

    public const string OrgClaim = "org";
    public const string SitesClaim = "sites";
    public const string ScopeClaim = "scope";

    /// <summary>The caller of a request whose token was accepted; null for an anonymous request.</summary>
    public static Caller? Of(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (user.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var orgs = Values(user, OrgClaim);
        var sites = Values(user, SitesClaim);
        var scopes = CallerScopes.None;
        foreach (var word in Values(user, ScopeClaim).SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            scopes |= word switch
            {
                "read" => CallerScopes.Read,
                "publish" => CallerScopes.Publish,
                "admin" => CallerScopes.Admin,
                _ => CallerScopes.None, // scopes of other systems in a shared token are not ours
            };
        }

        DateTimeOffset? expires = long.TryParse(user.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : null;
        return new Caller(
            user.FindFirst("sub")?.Value ?? "token",
            orgs.Contains("*") ? null : orgs.ToHashSet(StringComparer.Ordinal),
            sites.Count == 0 || sites.Contains("*") ? null : sites.ToHashSet(StringComparer.Ordinal),
            scopes,
            expires)
        {
            Issuer = user.FindFirst("iss")?.Value,
        };
    }

    public bool Can(CallerScopes scope) => (Scopes & scope) == scope;

    /// <summary>What this caller may see: its orgs and sites (a token with no <c>org</c> claim sees nothing).</summary>
    public TelemetryScope Scope => Orgs is { Count: 0 } ? TelemetryScope.Nothing : TelemetryScope.Granted(Name, Orgs, Sites);

    // A claim given as a JSON array arrives as one claim per element; a comma-separated string is taken apart too.
    private static List<string> Values(ClaimsPrincipal user, string type) =>
        [.. user.FindAll(type).SelectMany(c => c.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
}
