namespace Wattstream.Server.Endpoints;

/// <summary>
/// Oversized request headers get a 431 with a problem document. Kestrel's own limit, which answers with an empty 431
/// before any middleware runs, is set above this one so that the usual case reaches this check.
/// </summary>
internal static class HeaderLimits
{
    /// <summary>What the hub accepts: the names and values of all request headers together.</summary>
    public const int MaxTotalBytes = 32 * 1024;

    /// <summary>Kestrel's hard limit (it buffers headers up to this before any middleware).</summary>
    public const int KestrelMaxTotalBytes = 64 * 1024;

    public static IApplicationBuilder UseHeaderLimits(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        long total = 0;
        foreach (var (name, values) in context.Request.Headers)
        {
            total += name.Length;
            foreach (var value in values)
            {
                total += value?.Length ?? 0;
            }
        }

        if (total > MaxTotalBytes)
        {
            await Problems.Problem(
                    StatusCodes.Status431RequestHeaderFieldsTooLarge,
                    "headers_too_large",
                    "Request headers too large",
                    $"The request's headers hold {total} bytes; at most {MaxTotalBytes} are accepted.")
                .ExecuteAsync(context);
            return;
        }

        await next(context);
    });
}
