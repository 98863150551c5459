namespace Wattstream.Telemetry;

/// <summary>The NATS-style subject names readings travel under, and the rules for their tokens.</summary>
public static class Subjects
{
    public const string TelemetrySuffix = "telemetry.json.v1";

    public static string Telemetry(string org, string site, string device, string der) =>
        $"orgs.{org}.sites.{site}.devices.{device}.ders.{der}.{TelemetrySuffix}";

    /// <summary>A token of a published subject: not empty, no dot, no wildcard, no white space or control character.</summary>
    public static bool IsValidToken(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty)
        {
            return false;
        }

        foreach (var c in token)
        {
            if (c is '.' or '*' or '>' || char.IsWhiteSpace(c) || char.IsControl(c))
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
            throw new ArgumentException($"'{token}' is not a valid subject token: it must be non-empty and hold no '.', '*', '>' or white space.", paramName);
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
}
