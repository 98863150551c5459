namespace Wattstream.Server.Access;

/// <summary>
/// Where a request's credential (a token or an API key) comes from, in one place for every scheme:
/// <c>Authorization: Bearer</c>, else <c>X-Api-Key</c>, else <c>?access_token=</c> (taken out of the URL by
/// <see cref="QueryToken"/>), else the session cookie.
/// </summary>
internal static class Credentials
{
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The credential the request presents; null when none.</summary>
    public static string? Presented(HttpContext context, string cookieName)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }

        return context.Request.Headers[ApiKeyHeader].FirstOrDefault() ?? FromUrlOrCookie(context, cookieName);
    }

    /// <summary>What a browser can present without setting a header: the URL's token, else the session cookie.</summary>
    public static string? FromUrlOrCookie(HttpContext context, string cookieName) =>
        QueryToken.Of(context) ?? context.Request.Cookies[cookieName];
}
