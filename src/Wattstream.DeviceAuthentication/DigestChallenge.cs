namespace Wattstream.DeviceAuthentication;

/// <summary>What a client reads from a server's <c>WWW-Authenticate: Digest …</c> challenge.</summary>
/// <param name="Qop">The qop answered: <c>auth</c> when offered, else <c>auth-int</c> when offered, else none (RFC 2069).</param>
public sealed record DigestChallenge(string Realm, string Nonce, string? Opaque, string Algorithm, string? Qop, bool Stale)
{
    public static DigestChallenge Parse(string parameter)
    {
        var p = AuthParameters.Parse(parameter);
        var offered = p.GetValueOrDefault("qop")?.Split(',', StringSplitOptions.TrimEntries) ?? [];
        return new DigestChallenge(
            p.GetValueOrDefault("realm", ""),
            p.GetValueOrDefault("nonce", ""),
            p.GetValueOrDefault("opaque"),
            p.GetValueOrDefault("algorithm", "MD5"),
            offered.Contains("auth") ? "auth" : offered.Contains("auth-int") ? "auth-int" : null,
            string.Equals(p.GetValueOrDefault("stale"), "true", StringComparison.OrdinalIgnoreCase));
    }
}
