namespace Wattstream.Telemetry;

/// <summary>The NATS-style subject names readings travel under, and the rules for their tokens.</summary>
public static class Subjects
{
    public const string TelemetrySuffix = "telemetry.json.v1";

    /// <summary>The last tokens of a DER's status subject (status changes, published beside its telemetry).</summary>
    public const string StatusSuffix = "status.json.v1";

    public static string Telemetry(string org, string site, string device, string der) =>
        $"orgs.{org}.sites.{site}.devices.{device}.ders.{der}.{TelemetrySuffix}";

    public static string Status(string org, string site, string device, string der) =>
        $"orgs.{org}.sites.{site}.devices.{device}.ders.{der}.{StatusSuffix}";

    /// <summary>The longest id (org, site, device, DER) the hub accepts.</summary>
    public const int MaxTokenLength = 64;

    /// <summary>The id grammar, for messages: what <see cref="IsValidToken(ReadOnlySpan{char})"/> accepts.</summary>
    public const string TokenRule = "1 to 64 characters from A-Z, a-z, 0-9, '-', '_' and ':'";

    /// <summary>
    /// A token of a published subject (an org, site, device or DER id): 1 to <see cref="MaxTokenLength"/> ASCII letters,
    /// digits, <c>-</c>, <c>_</c> or <c>:</c>. Strict on purpose: ids end up in subjects, URLs, SQL parameters, CSV,
    /// log lines and web pages, and none of those characters means anything in any of them.
    /// </summary>
    public static bool IsValidToken(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty || token.Length > MaxTokenLength)
        {
            return false;
        }

        foreach (var c in token)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidToken(string? token) => token is not null && IsValidToken(token.AsSpan());

    public static void ValidateToken(string? token, string paramName)
    {
        if (!IsValidToken(token))
        {
            throw new ArgumentException($"'{token}' is not a valid id: {TokenRule}.", paramName);
        }
    }

    /// <summary>A subject a reading may be published on: dot-separated valid tokens.</summary>
    public static bool IsValidPublishSubject(ReadOnlySpan<char> subject)
    {
        if (subject.IsEmpty)
        {
            return false;
        }

        foreach (var range in subject.Split('.'))
        {
            if (!IsValidToken(subject[range]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Names a reading wherever it is published: <c>{org}.{site}.{device}.{der}:{timestamp}</c>. JetStream de-duplicates
    /// across the whole stream, so the id carries the full address: two organisations' <c>pv-1</c> reporting in the same
    /// millisecond are two readings.
    /// </summary>
    public static string MessageId(DerAddress der, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(der);
        return $"{der.Org}.{der.Site}.{der.Device}.{der.Der}:{timestamp}";
    }
}
