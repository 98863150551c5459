namespace Wattstream.Server.Endpoints;

/// <summary>
/// What keeps a browser from being turned against the hub: no content sniffing, no referrer (a URL may carry an access
/// token), and state-changing requests only with a JSON body — a cross-site form or a <c>fetch</c> without a
/// preflight can send text/plain or form data, never <c>application/json</c>, so the CORS policy always gets a say.
/// </summary>
internal static class BrowserSafety
{
    private static readonly string[] JsonTypes = ["application/json", "application/x-ndjson", "application/ndjson"];

    // Not async: a request that passes returns the next middleware's task, so a long stream holds no state machine of
    // this middleware for its whole life, and a push pays for none (issue 31).
    public static IApplicationBuilder UseBrowserSafety(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        var method = context.Request.Method;
        if ((HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method))
            && !HasJsonBody(context.Request) && !(HttpMethods.IsDelete(method) && context.Request.ContentLength is null or 0))
        {
            return Problems.Problem(
                    StatusCodes.Status415UnsupportedMediaType,
                    "unsupported_media_type",
                    "JSON expected",
                    $"{method} requests need Content-Type: application/json (or application/x-ndjson where a stream of readings is accepted).")
                .ExecuteAsync(context);
        }

        return next(context);
    });

    // The media type itself, not a prefix of it: application/jsonx is not JSON.
    private static bool HasJsonBody(HttpRequest request) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
        && Array.Exists(JsonTypes, t => type.MediaType.Equals(t, StringComparison.OrdinalIgnoreCase));
}
