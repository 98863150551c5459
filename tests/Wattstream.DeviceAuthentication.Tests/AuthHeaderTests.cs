namespace Wattstream.DeviceAuthentication.Tests;

/// <summary>The header parsing both sides of Digest share.</summary>
public class AuthHeaderTests
{
    [Fact]
    public void Parameters_are_quoted_or_tokens_and_a_quoted_comma_stays_in_its_value()
    {
        var p = AuthParameters.Parse("realm=\"whatwatt-9373A7\", qop=\"auth,auth-int\", algorithm=MD5-sess ,nc=00000001,  Stale=TRUE");

        Assert.Equal("whatwatt-9373A7", p["realm"]);
        Assert.Equal("auth,auth-int", p["qop"]);
        Assert.Equal("MD5-sess", p["algorithm"]);
        Assert.Equal("00000001", p["nc"]);
        Assert.Equal("TRUE", p["stale"]); // names are case-insensitive
    }

    [Fact]
    public void A_client_answers_auth_when_offered_and_reads_stale()
    {
        var both = DigestChallenge.Parse("realm=\"r\", qop=\"auth-int,auth\", nonce=\"n\", opaque=\"o\", stale=true");
        Assert.Equal(new DigestChallenge("r", "n", "o", "MD5", "auth", Stale: true), both);

        var bodyOnly = DigestChallenge.Parse("realm=\"r\", qop=\"auth-int\", nonce=\"n\", algorithm=MD5-sess");
        Assert.Equal("auth-int", bodyOnly.Qop);
        Assert.Equal("MD5-sess", bodyOnly.Algorithm);
        Assert.Null(bodyOnly.Opaque);
        Assert.False(bodyOnly.Stale);

        Assert.Null(DigestChallenge.Parse("realm=\"r\", nonce=\"n\"").Qop); // RFC 2069: no qop
    }

    [Fact]
    public void The_digest_hash_is_lowercase_hex_md5()
    {
        Assert.Equal("d41d8cd98f00b204e9800998ecf8427e", DigestHash.Md5(""));
        Assert.Equal("900150983cd24fb0d6963f7d28e17f72", DigestHash.Md5("abc"));
    }
}
