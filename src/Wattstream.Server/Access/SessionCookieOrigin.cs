using Microsoft.Extensions.Options;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// The session cookie is sent by the browser whatever page asks, and <c>SameSite=Strict</c> does not tell one port of
/// a host from another: so a request that the cookie authenticates and that changes state (<c>POST</c>, <c>PUT</c>,
/// <c>PATCH</c>, <c>DELETE</c>), or opens a WebSocket (which no CORS check guards), must show it comes from the hub's
/// own pages: <c>Sec-Fetch-Site: same-origin</c> (or <c>none</c>, typed by the user), else an <c>Origin</c> equal to
/// the hub's. Otherwise 403 <c>cross_origin</c>. A request with neither header is no browser's, and a credential in a
/// header or the URL is no ambient one: both pass.
/// </summary>
internal static class SessionCookieOrigin
{
    public static IApplicationBuilder UseSessionCookieOriginCheck(this IApplicationBuilder app)
    {
        var cookieName = app.ApplicationServices.GetRequiredService<IOptions<AuthOptions>>().Value.CookieName;
        return app.Use((context, next) =>
            !IsCookieWrite(context, cookieName) || IsSameOrigin(context)
                ? next(context)
                : Problems.Problem(StatusCodes.Status403Forbidden, "cross_origin", "Not from the hub's own pages",
                        "A request signed in with the session cookie that changes state or opens a WebSocket must come from the hub's own origin; other pages send a token in the Authorization header.")
                    .ExecuteAsync(context));
    }

    private static bool IsCookieWrite(HttpContext context, string cookieName)
    {
        var request = context.Request;
        var writes = HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method)
            || HttpMethods.IsDelete(request.Method) || context.WebSockets.IsWebSocketRequest;
        return writes
            && request.Cookies.ContainsKey(cookieName)
            && request.Headers.Authorization.Count == 0
            && request.Headers[Credentials.ApiKeyHeader].Count == 0
            && QueryToken.Of(context) is null;
    }

    private static bool IsSameOrigin(HttpContext context)
    {
        var headers = context.Request.Headers;
        var site = headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0)
        {
            return site is "same-origin" or "none";
        }

        var origin = headers.Origin.ToString();
        return origin.Length == 0 || string.Equals(origin, $"{context.Request.Scheme}://{context.Request.Host}", StringComparison.OrdinalIgnoreCase);
    }
}
