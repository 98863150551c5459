using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Wattstream.Server.Access;

/// <summary>The keys tokens are checked with, and the algorithms each may sign with (no key serves two algorithms).</summary>
internal static class SigningKeys
{
    /// <summary>Only these: never <c>none</c>, never an RSA or HMAC variant a key was not meant for.</summary>
    public static readonly string[] Algorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.EcdsaSha256, EdDsaSecurityKey.Algorithm];

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

    /// <summary>EC P-256 (ES256) and Ed25519 (EdDSA) public keys from a PEM file or a JWKS document.</summary>
    public static IReadOnlyList<SecurityKey> LoadPublicKeys(string file)
    {
        var text = File.ReadAllText(file);
        if (text.TrimStart().StartsWith('{'))
        {
            var keys = new List<SecurityKey>();
            foreach (var jwk in new JsonWebKeySet(text).Keys)
            {
                if (jwk.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && jwk.Crv == JsonWebKeyECTypes.P256)
                {
                    keys.Add(jwk);
                }
                else if (EdDsaSecurityKey.TryImportJwk(jwk, out var ed25519))
                {
                    keys.Add(ed25519);
                }
            }

            return keys;
        }

        if (EdDsaSecurityKey.TryImportPem(text, out var edKey))
        {
            edKey.KeyId = Path.GetFileNameWithoutExtension(file);
            return [edKey];
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
