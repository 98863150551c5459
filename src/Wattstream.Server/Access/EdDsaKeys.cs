using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Wattstream.Server.Access;

/// <summary>
/// Ed25519 public keys for <c>alg: EdDSA</c> tokens (RFC 8037). The .NET token libraries do not verify EdDSA, so the
/// key carries a crypto provider of its own that verifies with libsodium (NSec); everything else about the token
/// (lifetime, issuer, audience, claims) is checked by the same JwtBearer code as HS256 and ES256.
/// </summary>
internal sealed class EdDsaSecurityKey : AsymmetricSecurityKey
{
    public const string Algorithm = "EdDSA";

    public EdDsaSecurityKey(PublicKey key)
    {
        Key = key;
        CryptoProviderFactory = new CryptoProviderFactory { CustomCryptoProvider = EdDsaCryptoProvider.Instance };
    }

    public PublicKey Key { get; }

    public override int KeySize => 256;

    [Obsolete("HasPrivateKey method is deprecated, please use PrivateKeyStatus.")]
    public override bool HasPrivateKey => false;

    public override PrivateKeyStatus PrivateKeyStatus => PrivateKeyStatus.DoesNotExist;

    /// <summary>From a PEM SubjectPublicKeyInfo (<c>-----BEGIN PUBLIC KEY-----</c>); false when it is not an Ed25519 key.</summary>
    public static bool TryImportPem(string pem, out EdDsaSecurityKey key)
    {
        key = null!;
        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, System.Text.Encoding.ASCII.GetBytes(pem.Trim()), KeyBlobFormat.PkixPublicKeyText, out var imported) || imported is null)
        {
            return false;
        }

        key = new EdDsaSecurityKey(imported);
        return true;
    }

    /// <summary>From a JWK of <c>kty: OKP, crv: Ed25519</c>.</summary>
    public static bool TryImportJwk(JsonWebKey jwk, out EdDsaSecurityKey key)
    {
        key = null!;
        if (jwk.Kty != "OKP" || jwk.Crv != "Ed25519" || jwk.X is null
            || !PublicKey.TryImport(SignatureAlgorithm.Ed25519, Base64UrlEncoder.DecodeBytes(jwk.X), KeyBlobFormat.RawPublicKey, out var imported) || imported is null)
        {
            return false;
        }

        key = new EdDsaSecurityKey(imported) { KeyId = jwk.Kid };
        return true;
    }

    private sealed class EdDsaCryptoProvider : ICryptoProvider
    {
        public static readonly EdDsaCryptoProvider Instance = new();

        public bool IsSupportedAlgorithm(string algorithm, params object[] args) =>
            algorithm == Algorithm && args.Length > 0 && args[0] is EdDsaSecurityKey;

        public object Create(string algorithm, params object[] args) => new Verifier((EdDsaSecurityKey)args[0]);

        public void Release(object cryptoInstance)
        {
        }
    }

    private sealed class Verifier(EdDsaSecurityKey key) : SignatureProvider(key, EdDsaSecurityKey.Algorithm)
    {
        public override byte[] Sign(byte[] input) => throw new NotSupportedException("The hub verifies EdDSA tokens; it does not sign them.");

        public override bool Verify(byte[] input, byte[] signature) =>
            SignatureAlgorithm.Ed25519.Verify(key.Key, input, signature);

        public override bool Verify(byte[] input, int inputOffset, int inputLength, byte[] signature, int signatureOffset, int signatureLength) =>
            SignatureAlgorithm.Ed25519.Verify(key.Key, input.AsSpan(inputOffset, inputLength), signature.AsSpan(signatureOffset, signatureLength));

        protected override void Dispose(bool disposing)
        {
        }
    }
}
