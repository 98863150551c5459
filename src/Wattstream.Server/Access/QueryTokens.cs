using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace Wattstream.Server.Access;

/// <summary>
/// Browsers' EventSource and WebSocket cannot set headers, so a token may come as <c>?access_token=</c>. It is taken out
/// of the request line before ASP.NET Core sees the request: the hosting log's "Request starting" line, problem
/// documents, redirects and every later log see the URL without it. The token waits in a request feature for
/// authentication.
/// </summary>
internal sealed class QueryToken
{
    public const string ParameterName = "access_token";

    private QueryToken(string value) => Value = value;

    public string Value { get; }

    /// <summary>The token the request's URL carried, if any.</summary>
    public static string? Of(HttpContext context) => context.Features.Get<QueryToken>()?.Value;

    /// <summary>Removes <c>access_token</c> from the query (and the raw target) and keeps its value as a feature.</summary>
    public static void MoveOutOfQuery(IFeatureCollection features)
    {
        // A name may come percent-encoded in any part (access%5Ftoken, %61ccess_token), and ASP.NET Core decodes names
        // before it matches them: so does this, for any query that holds the name or an escape.
        if (features.Get<IHttpRequestFeature>() is not { } request
            || (!request.QueryString.Contains(ParameterName, StringComparison.OrdinalIgnoreCase) && !request.QueryString.Contains('%', StringComparison.Ordinal)))
        {
            return;
        }

        string? token = null;
        var removed = false;
        var kept = new List<string>();
        foreach (var pair in request.QueryString.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = pair.Split('=', 2)[0];
            if (string.Equals(Uri.UnescapeDataString(name.Replace('+', ' ')), ParameterName, StringComparison.OrdinalIgnoreCase))
            {
                removed = true;
                token ??= pair.Length > name.Length + 1 ? Uri.UnescapeDataString(pair[(name.Length + 1)..].Replace('+', ' ')) : "";
            }
            else
            {
                kept.Add(pair);
            }
        }

        if (!removed)
        {
            return;
        }

        request.QueryString = kept.Count == 0 ? "" : "?" + string.Join('&', kept);
        var query = request.RawTarget.IndexOf('?', StringComparison.Ordinal);
        request.RawTarget = (query < 0 ? request.RawTarget : request.RawTarget[..query]) + request.QueryString;
        if (!string.IsNullOrEmpty(token))
        {
            features.Set(new QueryToken(token));
        }
    }
}

/// <summary>Kestrel with <see cref="QueryToken.MoveOutOfQuery"/> applied to each request before the host creates its context.</summary>
internal sealed class QueryTokenScrubbingServer(IServer inner) : IServer
{
    public IFeatureCollection Features => inner.Features;

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull => inner.StartAsync(new Application<TContext>(application), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

    public void Dispose() => inner.Dispose();

    /// <summary>Replaces the registered server (Kestrel) by itself around it.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var kestrel = services.LastOrDefault(d => d.ServiceType == typeof(IServer))
            ?? throw new InvalidOperationException("No server is registered to take query tokens out of.");
        services.Remove(kestrel);
        services.AddSingleton<IServer>(sp => new QueryTokenScrubbingServer(kestrel switch
        {
            { ImplementationType: { } type } => (IServer)ActivatorUtilities.CreateInstance(sp, type),
            { ImplementationFactory: { } factory } => (IServer)factory(sp),
            { ImplementationInstance: IServer instance } => instance,
            _ => throw new InvalidOperationException("The registered server cannot be wrapped."),
        }));
    }

    private sealed class Application<TContext>(IHttpApplication<TContext> inner) : IHttpApplication<TContext>
        where TContext : notnull
    {
        public TContext CreateContext(IFeatureCollection contextFeatures)
        {
            QueryToken.MoveOutOfQuery(contextFeatures);
            return inner.CreateContext(contextFeatures);
        }

        public Task ProcessRequestAsync(TContext context) => inner.ProcessRequestAsync(context);

        public void DisposeContext(TContext context, Exception? exception) => inner.DisposeContext(context, exception);
    }
}
