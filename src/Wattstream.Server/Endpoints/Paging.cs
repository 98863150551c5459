using System.Globalization;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// Listings come a page at a time (<c>?limit=</c>, default 1 000, at most 10 000; <c>?offset=</c>), so a hub with
/// 100 000 DERs never builds one answer of all of them. The body stays a JSON array, as before; <c>X-Total-Count</c>
/// says how many there are and <c>Link: &lt;…&gt;; rel="next"</c> where the next page is (with the request's filters).
/// </summary>
internal static class Paging
{
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 10_000;

    public static bool TryRead(HttpContext context, out int offset, out int limit, out IResult? problem)
    {
        offset = 0;
        limit = DefaultLimit;
        problem = null;
        var query = context.Request.Query;
        if ((query["limit"].FirstOrDefault() is { } l && !(int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is > 0 and <= MaxLimit))
            || (query["offset"].FirstOrDefault() is { } o && !int.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out offset)))
        {
            problem = Problems.BadRequest("invalid_page", "Malformed page", $"limit is 1 to {MaxLimit} (default {DefaultLimit}), offset a whole number from 0.");
            return false;
        }

        return true;
    }

    /// <summary>The page of <paramref name="all"/>, with the total and the next page's link in the response headers.</summary>
    public static T[] Page<T>(HttpContext context, IReadOnlyCollection<T> all, int offset, int limit)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(all);
        Headers(context, all.Count, offset, limit);
        return all.Skip(offset).Take(limit).ToArray();
    }

    /// <summary>The total and the next page's link, for a page read elsewhere (a store's query).</summary>
    public static void Headers(HttpContext context, long total, int offset, int limit)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers["X-Total-Count"] = total.ToString(CultureInfo.InvariantCulture);
        if ((long)offset + limit < total)
        {
            // The request's other parameters (a listing's filters) carry over, so following the links pages the same set.
            var query = context.Request.Query.Where(p => p.Key is not ("limit" or "offset"))
                .Append(new("limit", limit.ToString(CultureInfo.InvariantCulture)))
                .Append(new("offset", (offset + limit).ToString(CultureInfo.InvariantCulture)));
            context.Response.Headers.Link = $"<{context.Request.Path}{QueryString.Create(query)}>; rel=\"next\"";
        }
    }
}
