using System.Security.Cryptography;
using System.Text;

namespace Wattstream.Alerts.Webhooks;

/// <summary>
/// The signature a receiver checks: <c>Wattstream-Signature: v1=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))</c> with
/// <c>Wattstream-Timestamp: {unix seconds}</c>. Signing the timestamp with the body makes a captured request useless
/// once the receiver's tolerance (5 minutes, say) has passed. docs/protocol.md shows the check.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "Wattstream-Signature";
    public const string TimestampHeader = "Wattstream-Timestamp";
    public const string AlertIdHeader = "Wattstream-Alert-Id";

    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var prefix = Encoding.ASCII.GetBytes(unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>What a receiver does: the signature matches (in constant time) and the timestamp is recent.</summary>
    public static bool Verify(string secret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (!long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds
            || signature is null)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(secret, seconds, body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }
}
