using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Access;

/// <summary>How callers prove who they are (section <c>Auth</c>); see docs/security.md.</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";

    /// <summary>At least this many bytes of HMAC secret (HS256 is as strong as its key).</summary>
    public const int MinHmacSecretBytes = 32;

    /// <summary>
    /// <c>none</c> (the default): every caller sees everything, allowed only while the hub listens on loopback.
    /// <c>token</c>: every request but health, the API reference and the dashboard's files needs a token.
    /// </summary>
    public AuthMode Mode { get; set; } = AuthMode.None;

    /// <summary>The shared secret of HS256 tokens (UTF-8, at least 32 bytes). Never logged.</summary>
    public string? HmacSecret { get; set; }

    /// <summary>Files with the public keys of ES256 (P-256) and EdDSA (Ed25519) tokens: PEM (<c>-----BEGIN PUBLIC KEY-----</c>) or a JWKS document.</summary>
    public string[] PublicKeys { get; set; } = [];

    /// <summary>When set, a token's <c>iss</c> must equal it.</summary>
    public string? Issuer { get; set; }

    /// <summary>When set, a token's <c>aud</c> must contain it.</summary>
    public string? Audience { get; set; }

    /// <summary>How far clocks may disagree when checking <c>exp</c> and <c>nbf</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The cookie <c>POST /api/session</c> sets (HttpOnly, SameSite=Strict, Secure on HTTPS).</summary>
    [RegularExpression("^[A-Za-z0-9_-]{1,64}$")]
    public string CookieName { get; set; } = "wattstream_session";

    /// <summary>
    /// Unexpired API keys of one org, at most (a key of several orgs counts for each; every-org keys for none): one org
    /// cannot fill the key store for the others. In cluster mode the whole cluster's keys count.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxKeysPerOrg { get; set; } = 100;

    /// <summary>The device password of the whatwatt-compatible endpoints, in every mode (with <c>none</c> it guards those paths alone).</summary>
    public DeviceAuthOptions Device { get; set; } = new();

    // Data annotations of a nested settings object are not checked by ValidateDataAnnotations; this checks them.
    private static List<ValidationResult> ValidateNested(object nested)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(nested, new ValidationContext(nested), results, validateAllProperties: true);
        return [.. results.Select(r => new ValidationResult($"Auth:Device: {r.ErrorMessage}", r.MemberNames))];
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in ValidateNested(Device)) // the device password works in every mode
        {
            yield return result;
        }

        if (Mode != AuthMode.Token)
        {
            yield break;
        }

        if (HmacSecret is null && PublicKeys.Length == 0)
        {
            yield return new ValidationResult(
                "Auth:Mode=token needs a way to check tokens: Auth:HmacSecret (at least 32 bytes, for HS256) or Auth:PublicKeys (PEM or JWKS files, for ES256).",
                [nameof(HmacSecret)]);
        }

        if (HmacSecret is not null && System.Text.Encoding.UTF8.GetByteCount(HmacSecret) < MinHmacSecretBytes)
        {
            yield return new ValidationResult($"Auth:HmacSecret must be at least {MinHmacSecretBytes} bytes (it is shorter; its value is not shown).", [nameof(HmacSecret)]);
        }

        if (Device.Password is not null && Device.Orgs.Length == 0)
        {
            yield return new ValidationResult("Auth:Device:Password needs Auth:Device:Orgs (the orgs, or *, that the device password may read).", [nameof(Device)]);
        }

        foreach (var file in PublicKeys)
        {
            string? problem;
            try
            {
                problem = SigningKeys.LoadPublicKeys(file).Count == 0 ? "holds no EC P-256 or Ed25519 public key" : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or System.Security.Cryptography.CryptographicException or System.Text.Json.JsonException or FormatException)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                yield return new ValidationResult($"Auth:PublicKeys: '{file}': {problem}", [nameof(PublicKeys)]);
            }
        }
    }
}

public enum AuthMode
{
    None,
    Token,
}
