using System.Security.Cryptography;
using NSec.Cryptography;

namespace NATS.NKeys.Tests;

public class KeyPairTests
{
    private const byte UserType = 20 << 3; // 'U'

    private static string UserSeed(byte[] seed) =>
        NKeyEncoding.Encode([(byte)(NKeyEncoding.SeedPrefix | (UserType >> 5)), (byte)((UserType & 31) << 3), .. seed]);

    [Fact]
    public void A_user_seed_gives_a_user_public_key_that_verifies_its_signatures()
    {
        var seed = RandomNumberGenerator.GetBytes(32);
        var text = UserSeed(seed);

        using var pair = KeyPair.FromSeed(text);
        var publicKey = pair.GetPublicKey();
        var message = "nonce-from-the-server"u8.ToArray();
        var signature = new byte[64];
        pair.Sign(message, signature);

        Assert.StartsWith("SU", text, StringComparison.Ordinal);
        Assert.StartsWith("U", publicKey, StringComparison.Ordinal);
        Assert.Equal(56, publicKey.Length);
        var raw = NKeyEncoding.Decode(publicKey);
        Assert.Equal(UserType, raw[0]);
        var verifier = NSec.Cryptography.PublicKey.Import(SignatureAlgorithm.Ed25519, raw.AsSpan(1), KeyBlobFormat.RawPublicKey);
        Assert.True(SignatureAlgorithm.Ed25519.Verify(verifier, message, signature));
    }

    [Fact]
    public void The_same_seed_gives_the_same_key()
    {
        var text = UserSeed(RandomNumberGenerator.GetBytes(32));

        using var a = KeyPair.FromSeed(text);
        using var b = KeyPair.FromSeed(text);

        Assert.Equal(a.GetPublicKey(), b.GetPublicKey());
    }

    [Fact]
    public void A_damaged_seed_or_a_public_key_is_refused()
    {
        var text = UserSeed(RandomNumberGenerator.GetBytes(32));
        var damaged = (text[10] == 'A' ? 'B' : 'A') is var c ? text[..10] + c + text[11..] : text;
        using var pair = KeyPair.FromSeed(text);

        Assert.Throws<FormatException>(() => KeyPair.FromSeed(damaged));
        Assert.Throws<FormatException>(() => KeyPair.FromSeed(pair.GetPublicKey()));
        Assert.Throws<FormatException>(() => KeyPair.FromSeed("not-base32!"));
    }

    [Fact]
    public void Crc16_is_xmodem()
    {
        Assert.Equal(0x31C3, NKeyEncoding.Crc16("123456789"u8)); // the CRC-16/XMODEM check value
    }
}
