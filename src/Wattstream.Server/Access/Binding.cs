using System.Net;
using Microsoft.Extensions.Options;

namespace Wattstream.Server.Access;

/// <summary>
/// Where the hub listens: as far as the configuration tells before Kestrel starts (which sets the defaults that depend
/// on it), and, once it has started, the addresses Kestrel really bound, which decide (<see cref="BoundAddressCheck"/>).
/// </summary>
internal static class Binding
{
    /// <summary>
    /// The addresses Kestrel will listen on: its configured endpoints (<c>Kestrel:Endpoints:{name}:Url</c>, which take
    /// precedence), else <c>urls</c> (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>DOTNET_URLS</c>), else the ports
    /// (<c>http_ports</c>, <c>https_ports</c>: <c>ASPNETCORE_HTTP_PORTS</c> and the like, which the official container
    /// images set, on every address), else the hub's default.
    /// </summary>
    public static IReadOnlyList<string> Urls(IConfiguration configuration)
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().ToArray();
        if (endpoints.Length > 0)
        {
            return endpoints;
        }

        var urls = configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            return Split(urls);
        }

        string[] ports = [.. Split(configuration["http_ports"]).Select(p => $"http://*:{p}"), .. Split(configuration["https_ports"]).Select(p => $"https://*:{p}")];
        return ports.Length > 0 ? ports : [WattstreamApp.DefaultUrl];
    }

    /// <summary>True when the configuration names where to listen (else the hub's default, loopback, applies).</summary>
    public static bool IsConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["urls"]) || !string.IsNullOrWhiteSpace(configuration["http_ports"]) || !string.IsNullOrWhiteSpace(configuration["https_ports"]);

    private static string[] Split(string? list) => list?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    /// <summary>True while every address is a loopback one (127.0.0.0/8, ::1, localhost); false for 0.0.0.0, *, a host name.</summary>
    public static bool LoopbackOnly(IConfiguration configuration) => Urls(configuration).All(IsLoopback);

    /// <summary>True for a loopback address (127.0.0.0/8, ::1, localhost); false for 0.0.0.0, [::], *, +, a host name.</summary>
    public static bool IsLoopback(string url)
    {
        var host = url.Replace("://+", "://any", StringComparison.Ordinal).Replace("://*", "://any", StringComparison.Ordinal);
        if (!Uri.TryCreate(host, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>
    /// Without tokens (<c>Auth:Mode=none</c>) the hub serves everything to everyone who can reach it, so it then listens
    /// on other addresses than loopback only when the operator says so (<c>--Insecure=true</c>); the message says what to do.
    /// </summary>
    public static void RefuseOpenBindingUnlessInsecure(IConfiguration configuration) => RefuseOpenAddresses(Urls(configuration), configuration);

    /// <summary>True when this configuration must listen on loopback only: no tokens, and no <c>--insecure</c>.</summary>
    /// <summary>Allows listening beyond loopback without authentication (<c>--insecure</c> is its flag form).</summary>
    public const string InsecureSetting = "Insecure";

    public static bool MustStayOnLoopback(IConfiguration configuration) => !TokensRequired(configuration) && !configuration.GetValue<bool>(InsecureSetting);

    /// <summary>The same rule for the given addresses: before the start, those configured; after it, those bound.</summary>
    public static void RefuseOpenAddresses(IEnumerable<string> addresses, IConfiguration configuration)
    {
        var open = addresses.Where(a => !IsLoopback(a)).ToArray();
        if (open.Length == 0 || !MustStayOnLoopback(configuration))
        {
            return;
        }

        throw new OptionsValidationException("urls", typeof(string),
        [
            $"urls: {string.Join(", ", open)} is reachable from other machines, and Auth:Mode is none: "
            + "every caller would read and push everything. Require tokens (--Auth:Mode=token with --Auth:HmacSecret=<32+ bytes> "
            + "or --Auth:PublicKeys:0=<key.pem>; 'wattstream token create' makes tokens; docs/security.md), listen on loopback "
            + "(the default, http://127.0.0.1:8111; ASPNETCORE_HTTP_PORTS and --http_ports listen on every address) behind a "
            + "reverse proxy that authenticates, or pass --insecure to accept it.",
        ]);
    }

    public static bool IsInsecure(IConfiguration configuration) =>
        !LoopbackOnly(configuration) && !TokensRequired(configuration) && configuration.GetValue<bool>(InsecureSetting);

    public static bool TokensRequired(IConfiguration configuration) =>
        string.Equals(configuration[$"{AuthOptions.SectionName}:{nameof(AuthOptions.Mode)}"], nameof(AuthMode.Token), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// DNS rebinding: a page of evil.example whose name resolves to 127.0.0.1 reaches the hub as "same origin" but sends
    /// Host: evil.example. While the hub listens on loopback only, only loopback names are answered; <c>AllowedHosts</c>
    /// (names separated by <c>;</c>, <c>*.example.com</c> for subdomains, <c>*</c> for any) overrides. Judged here rather than
    /// by ASP.NET Core's host filtering (set to let everything through), which answers an empty 400 before any middleware
    /// of the hub: this one answers the hub's problem document.
    /// </summary>
    public static IServiceCollection AddHostNames(this IServiceCollection services) =>
        services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts = ["*"]);

    /// <inheritdoc cref="AddHostNames"/>
    public static IApplicationBuilder UseHostNames(this IApplicationBuilder app, IConfiguration configuration)
    {
        var configured = configuration["AllowedHosts"];
        string[] allowed = !string.IsNullOrWhiteSpace(configured) ? Split(configured) : LoopbackOnly(configuration) ? ["localhost", "127.0.0.1", "[::1]"] : ["*"];
        if (allowed.Contains("*"))
        {
            return app;
        }

        var patterns = allowed.Select(a => new Microsoft.Extensions.Primitives.StringSegment(a)).ToArray();
        return app.Use((context, next) =>
            !context.Request.Host.HasValue || HostString.MatchesAny(context.Request.Host.Host, patterns)
                ? next(context)
                : Endpoints.Problems.BadRequest("host_not_allowed", "Unknown host name", "The Host header names no host this hub answers for (AllowedHosts).").ExecuteAsync(context));
    }
}
