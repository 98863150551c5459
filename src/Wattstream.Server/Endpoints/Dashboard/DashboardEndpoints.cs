namespace Wattstream.Server.Endpoints.Dashboard;

/// <summary>
/// Serves the dashboard embedded by the build (index.html at <c>/</c>, its bundle under <c>/dashboard/</c>). The page is
/// a client of the public endpoints, like any other.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["app.js"] = "text/javascript; charset=utf-8",
        ["app.css"] = "text/css; charset=utf-8",
    };

    private static readonly Dictionary<string, byte[]> Files = Load();

    public static bool IsBuilt => Files.ContainsKey("index.html");

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/dashboard/{file}", (HttpContext context, string file) => Serve(context, file)).ExcludeFromDescription().AllowAnonymous();
        return app;
    }

    /// <summary>
    /// The dashboard's pages may run only the dashboard's own script and talk only to this origin: an injected
    /// <c>&lt;img onerror&gt;</c> or inline script is not run, and no other page may frame it.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static IResult Serve(HttpContext context, string file)
    {
        context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        context.Response.Headers.XFrameOptions = "DENY";
        if (!IsBuilt && file == "index.html")
        {
            return TypedResults.Content(
                "<!doctype html><meta charset=utf-8><title>Wattstream</title><h1>Wattstream</h1><p>The dashboard was not built: it needs Node.js with npm when Wattstream is built (apt-get install nodejs npm, then build again). The API works: see <a href=\"/docs\">/docs</a>.</p>",
                "text/html; charset=utf-8");
        }

        if (!Files.TryGetValue(file, out var bytes))
        {
            return Problems.NotFound("not_found", "Not found", $"No dashboard file '{file}'.");
        }

        context.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Bytes(bytes, ContentTypes[file]);
    }

    private static Dictionary<string, byte[]> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in ContentTypes.Keys)
        {
            using var stream = assembly.GetManifestResourceStream($"dashboard/{name}");
            if (stream is not null)
            {
                using var memory = new MemoryStream();
                stream.CopyTo(memory);
                files[name] = memory.ToArray();
            }
        }

        return files;
    }
}
