using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Wattstream.Server.Access;

/// <summary>
/// Behind a reverse proxy every client arrives from the proxy's address. With <c>Proxy:TrustedProxies</c> (addresses or
/// CIDR networks) the hub takes the client's address from <c>X-Forwarded-For</c> (and the scheme from
/// <c>X-Forwarded-Proto</c>), but only on requests that come from one of them: a client elsewhere cannot forge its
/// address. Without the setting the headers are ignored. Per-address limits then apply to the real clients.
/// </summary>
internal static class TrustedProxies
{
    public const string Setting = "Proxy:TrustedProxies";

    public static IServiceCollection AddTrustedProxies(this IServiceCollection services, IConfiguration configuration)
    {
        var entries = configuration.GetSection(Setting).Get<string[]>() ?? [];
        if (entries.Length == 0)
        {
            return services;
        }

        var networks = new List<System.Net.IPNetwork>();
        foreach (var entry in entries)
        {
            if (System.Net.IPNetwork.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                networks.Add(new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new Microsoft.Extensions.Options.OptionsValidationException(Setting, typeof(string[]),
                    [$"{Setting}: '{entry}' is neither an IP address nor a CIDR network (e.g. 127.0.0.1 or 10.0.0.0/8)."]);
            }
        }

        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.KnownProxies.Clear(); // ASP.NET Core trusts loopback by default: only what the operator named
            o.KnownIPNetworks.Clear();
            foreach (var network in networks)
            {
                o.KnownIPNetworks.Add(network);
            }
        });
        services.AddSingleton(new TrustedProxiesMarker());
        return services;
    }

    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        if (app.Services.GetService<TrustedProxiesMarker>() is not null)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }

    private sealed class TrustedProxiesMarker;
}
