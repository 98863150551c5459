namespace Wattstream.Server.Endpoints;

/// <summary>
/// <c>HEAD</c> wherever <c>GET</c> is served (RFC 9110 §9.3.2): the request is routed as a <c>GET</c> and Kestrel, which
/// still knows it parsed a <c>HEAD</c>, sends the headers and no body. A stream asks <see cref="IsHead"/> and ends once
/// its headers are out (<c>SseStreams</c>), so a <c>HEAD</c> of an SSE endpoint answers <c>200 text/event-stream</c>
/// and is done. Placed before routing, which otherwise finds only the <c>GET</c> endpoint and answers 405.
/// </summary>
internal static class HeadRequests
{
    private static readonly object Marker = new();

    public static IApplicationBuilder UseHeadAsGet(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Request.Method = HttpMethods.Get;
            context.Items[Marker] = Marker;
        }

        return next(context);
    });

    /// <summary>True when the request came as a <c>HEAD</c> (it reads as a <c>GET</c> after <see cref="UseHeadAsGet"/>).</summary>
    public static bool IsHead(HttpContext context) => context.Items.ContainsKey(Marker);
}
