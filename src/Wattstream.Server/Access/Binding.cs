using System.Net;

namespace Wattstream.Server.Access;

/// <summary>Where the hub listens, as far as the configuration tells before Kestrel starts.</summary>
internal static class Binding
{
    /// <summary>The addresses of <c>urls</c> (or <c>ASPNETCORE_URLS</c>; the hub's default when neither is set).</summary>
    public static IReadOnlyList<string> Urls(IConfiguration configuration)
    {
        var urls = configuration["urls"] ?? configuration["ASPNETCORE_URLS"];
        return string.IsNullOrWhiteSpace(urls) ? [WattstreamApp.DefaultUrl] : urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>True while every address is a loopback one (127.0.0.0/8, ::1, localhost); false for 0.0.0.0, *, a host name.</summary>
    public static bool LoopbackOnly(IConfiguration configuration) => Urls(configuration).All(IsLoopback);

    private static bool IsLoopback(string url)
    {
        var host = url.Replace("://+", "://any", StringComparison.Ordinal).Replace("://*", "://any", StringComparison.Ordinal);
        if (!Uri.TryCreate(host, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}
