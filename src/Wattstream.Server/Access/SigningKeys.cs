using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Wattstream.Server.Access;

/// <summary>The keys tokens are checked with, and the algorithms each may sign with (no key serves two algorithms).</summary>
internal static class SigningKeys
{
    /// <summary>Only these: never <c>none</c>, never an RSA or HMAC variant a key was not meant for.</summary>
    public static readonly string[] Algorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.EcdsaSha256];

    public static List<SecurityKey> Load(AuthOptions options)
    {
        var keys = new List<SecurityKey>();
        if (options.HmacSecret is { } secret)
        {
            keys.Add(Hmac(secret));
        }

        foreach (var file in options.PublicKeys)
        {
            keys.AddRange(LoadPublicKeys(file));
        }

        return keys;
    }

    public static SymmetricSecurityKey Hmac(string secret) => new(Encoding.UTF8.GetBytes(secret)) { KeyId = "hmac" };

    /// <summary>EC P-256 public keys from a PEM file or a JWKS document.</summary>
    public static IReadOnlyList<SecurityKey> LoadPublicKeys(string file)
    {
        var text = File.ReadAllText(file);
        if (text.TrimStart().StartsWith('{'))
        {
            return [.. new JsonWebKeySet(text).Keys.Where(k => k.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && k.Crv == JsonWebKeyECTypes.P256)];
        }

        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(text);
        if (ecdsa.KeySize != 256)
        {
            throw new ArgumentException($"an EC key of {ecdsa.KeySize} bits; ES256 needs P-256");
        }

        return [new ECDsaSecurityKey(ecdsa) { KeyId = Path.GetFileNameWithoutExtension(file) }];
    }

    /// <summary>The key <c>token create</c> signs with: a PEM EC private key (ES256), or else the HMAC secret (HS256).</summary>
    public static SigningCredentials ForSigning(AuthOptions options, string? privateKeyFile)
    {
        if (privateKeyFile is not null)
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(File.ReadAllText(privateKeyFile));
            return new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = Path.GetFileNameWithoutExtension(privateKeyFile) }, SecurityAlgorithms.EcdsaSha256);
        }

        if (options.HmacSecret is null)
        {
            throw new ArgumentException("token create signs with Auth:HmacSecret (HS256) or --signing-key <EC private key PEM> (ES256); neither is given");
        }

        if (Encoding.UTF8.GetByteCount(options.HmacSecret) < AuthOptions.MinHmacSecretBytes)
        {
            throw new ArgumentException($"Auth:HmacSecret must be at least {AuthOptions.MinHmacSecretBytes} bytes (its value is not shown)");
        }

        return new SigningCredentials(Hmac(options.HmacSecret), SecurityAlgorithms.HmacSha256);
    }
}
