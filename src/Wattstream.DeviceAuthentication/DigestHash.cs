using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Wattstream.DeviceAuthentication;

/// <summary>The MD5 hex digests HTTP Digest is made of (RFC 7616), the same for the client and the verifier.</summary>
public static class DigestHash
{
    public static string Md5(string s) => Md5(Encoding.UTF8.GetBytes(s));

    [SuppressMessage("Security", "CA5351", Justification = "HTTP Digest MD5-sess is what the device speaks.")]
    public static string Md5(byte[] bytes) => Convert.ToHexString(MD5.HashData(bytes)).ToLowerInvariant();
}
