using NSec.Cryptography;

namespace NATS.NKeys;

/// <summary>
/// An NKey: an Ed25519 key pair whose seed and public key travel as base32 text with a type prefix and a CRC16.
/// A user seed starts with "SU", its public key with "U".
/// </summary>
public sealed class KeyPair : IDisposable
{
    private readonly Key _key;
    private readonly byte _type;

    private KeyPair(Key key, byte type)
    {
        _key = key;
        _type = type;
    }

    /// <summary>Decodes a seed ("SU…", "SA…", …) and derives its key pair.</summary>
    /// <exception cref="FormatException">The seed is not valid base32, fails its checksum, or is not a seed.</exception>
    public static KeyPair FromSeed(ReadOnlySpan<char> seed)
    {
        var raw = NKeyEncoding.Decode(seed);
        if (raw.Length != 2 + 32 || (raw[0] & 0xF8) != NKeyEncoding.SeedPrefix)
        {
            throw new FormatException("not an NKey seed");
        }

        var type = (byte)(((raw[0] & 0x07) << 5) | ((raw[1] & 0xF8) >> 3));
        var key = Key.Import(SignatureAlgorithm.Ed25519, raw.AsSpan(2, 32), KeyBlobFormat.RawPrivateKey);
        return new KeyPair(key, type);
    }

    /// <summary>Signs <paramref name="input"/> into <paramref name="signature"/> (64 bytes).</summary>
    public void Sign(ReadOnlyMemory<byte> input, Memory<byte> signature) =>
        SignatureAlgorithm.Ed25519.Sign(_key, input.Span, signature.Span[..SignatureAlgorithm.Ed25519.SignatureSize]);

    /// <summary>The public NKey, e.g. "U…" for a user.</summary>
    public string GetPublicKey()
    {
        var payload = new byte[1 + 32];
        payload[0] = _type;
        _key.PublicKey.Export(KeyBlobFormat.RawPublicKey).CopyTo(payload, 1);
        return NKeyEncoding.Encode(payload);
    }

    public void Dispose() => _key.Dispose();
}
