using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Wattstream.Testing;

/// <summary>
/// Digest answers computed by hand from RFC 7616, apart from the code under test: MD5-sess with the device's empty user
/// name, HA1 = MD5(MD5(:realm:password):nonce:cnonce), HA2 = MD5(method:uri) for <c>auth</c> and
/// MD5(method:uri:MD5(body)) for <c>auth-int</c>.
/// </summary>
public static partial class HandDigest
{
    /// <summary>A challenge's parameter (realm, nonce, opaque, qop…), unquoted.</summary>
    public static string Parameter(string challenge, string name)
    {
        var match = ParameterPattern().Matches(challenge).FirstOrDefault(m => m.Groups[1].Value == name)
            ?? throw new ArgumentException($"the challenge has no {name}: {challenge}");
        return match.Groups[2].Success ? match.Groups[2].Value : match.Groups[3].Value;
    }

    /// <summary>The <c>Authorization: Digest …</c> parameter answering <paramref name="challenge"/> for this request.</summary>
    public static string Answer(string challenge, string password, string method, string uri, string qop, byte[] body, string nc = "00000001", string cnonce = "0a4f113bc9d2e001")
    {
        var realm = Parameter(challenge, "realm");
        var nonce = Parameter(challenge, "nonce");
        var ha1 = Md5($"{Md5($":{realm}:{password}")}:{nonce}:{cnonce}");
        var ha2 = qop == "auth-int" ? Md5($"{method}:{uri}:{Md5(body)}") : Md5($"{method}:{uri}");
        var response = Md5($"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}");
        return $"username=\"\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=MD5-sess, response=\"{response}\", qop={qop}, nc={nc}, cnonce=\"{cnonce}\", opaque=\"{Parameter(challenge, "opaque")}\"";
    }

    private static string Md5(string s) => Md5(Encoding.UTF8.GetBytes(s));

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "HTTP Digest is MD5.")]
    private static string Md5(byte[] bytes) => Convert.ToHexString(MD5.HashData(bytes)).ToLowerInvariant();

    [GeneratedRegex("""(\w+)=(?:"([^"]*)"|([^,\s]+))""")]
    private static partial Regex ParameterPattern();
}
