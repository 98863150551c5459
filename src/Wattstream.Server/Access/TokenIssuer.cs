using System.Globalization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Wattstream.Server.Access;

/// <summary>Makes tokens this hub accepts (<c>wattstream token create</c>): the claims of <see cref="Caller"/>, signed.</summary>
public static class TokenIssuer
{
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);

    public static string Create(
        AuthOptions auth,
        SigningCredentials credentials,
        string subject,
        IReadOnlyCollection<string> orgs,
        IReadOnlyCollection<string> sites,
        IReadOnlyCollection<string> scopes,
        TimeSpan lifetime,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(auth);
        ArgumentNullException.ThrowIfNull(time);
        if (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            throw new ArgumentException($"--ttl must be more than 0 and at most {MaxLifetime.TotalDays} days");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            ["sub"] = subject,
            [Caller.OrgClaim] = orgs.Count == 1 ? orgs.First() : orgs.ToArray(),
            [Caller.ScopeClaim] = string.Join(' ', scopes),
        };
        if (sites.Count > 0)
        {
            claims[Caller.SitesClaim] = sites.ToArray();
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            SigningCredentials = credentials,
        });
    }

    /// <summary>"90s", "30m", "12h", "7d", or a TimeSpan ("01:00:00").</summary>
    public static bool TryParseLifetime(string? text, out TimeSpan lifetime)
    {
        lifetime = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var unit = text[^1];
        if (char.IsLetter(unit) && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0 && double.IsFinite(amount))
        {
            double? seconds = unit switch
            {
                's' => amount,
                'm' => amount * 60,
                'h' => amount * 3600,
                'd' => amount * 86_400,
                _ => null,
            };
            if (seconds is not { } s || s > MaxLifetime.TotalSeconds)
            {
                return false; // a unit we do not know, or longer than any lifetime we accept (and than TimeSpan holds)
            }

            lifetime = TimeSpan.FromSeconds(s);
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out lifetime);
    }
}
