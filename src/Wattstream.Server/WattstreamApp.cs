using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Wattstream.Hub;
using Wattstream.Server.Composition;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Families.DerSim;
using Wattstream.Server.Families.General;
using Wattstream.Server.Families.Hes;
using Wattstream.Server.Families.Novacore;
using Wattstream.Server.Families.Whatwatt;

namespace Wattstream.Server;

/// <summary>Builds the Wattstream host. Tests build it the same way, on a free loopback port.</summary>
public static class WattstreamApp
{
    public const string DefaultUrl = "http://127.0.0.1:8111";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Settings and content come from beside the binary, wherever it is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        // A key no setting binds, or a value its setting cannot take, stops the start before anything reads a section.
        if (Composition.Settings.WattstreamSettings.Registry.Check(builder.Configuration) is { Count: > 0 } unknown)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException("Settings", typeof(Composition.Settings.SettingsRegistry), unknown);
        }

        if (!Access.Binding.IsConfigured(builder.Configuration))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Oversized request headers get a 431 instead of being buffered (as a problem document: see KestrelRejections).
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.AddServerHeader = false;
            builder.Configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits); // e.g. --Kestrel:Limits:MaxRequestBodySize=1048576
            kestrel.ConfigureEndpointDefaults(listen => listen.UseProblemRejections()); // Kestrel's own 400/414/431 as problem documents
        });

        Access.Binding.RefuseOpenBindingUnlessInsecure(builder.Configuration);
        builder.Services.AddWattstream(builder.Configuration)
            .AddWhatwatt()
            .AddHes()
            .AddNovacore()
            .AddDerSim()
            .AddGeneral();
        configure?.Invoke(builder);

        var app = builder.Build();
        // Every section's checks at once, before anything resolves a service (which would stop at the first bad one).
        app.Services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        app.MapWattstream();
        app.Lifetime.ApplicationStarted.Register(() => LogWhereToLook(app));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var open = Addresses(app).Where(a => !Access.Binding.IsLoopback(a)).ToArray();
            if (open.Length > 0 && !Access.Binding.TokensRequired(app.Configuration))
            {
                app.Logger.LogWarning("Insecure: the hub listens on {Urls} without authentication; every caller can read and push everything", string.Join(", ", open));
            }
        });
        return app;
    }

    /// <summary>The addresses the server listens on (after start).</summary>
    public static IReadOnlyCollection<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    private static void LogWhereToLook(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Wattstream");
        var site = app.Services.GetRequiredService<TelemetryHub>().Ders.Select(d => d.Address.Site).FirstOrDefault() ?? "site-1";
        foreach (var address in Addresses(app))
        {
            // The line names the address as bound (every address: 0.0.0.0, [::]); the examples use this machine's loopback.
            var url = address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal);
            logger.LogInformation(
                """
                Wattstream is listening on {Address}
                  Dashboard:             {Url}/
                  API reference:         {Url}/docs
                  whatwatt live (SSE):   curl -N {Url}/api/v1/live
                  HES meter readings:    curl -N {Url}/api/sse/meters
                  Novacore site stream:  curl -N {Url}/stream/sites/{Site}
                  Sites and meters:      curl {Url}/api/sites   curl {Url}/api/meters
                  DERSim WebSocket:      ws://{Host}/api/dersim/ws/telemetry   general WebSocket: ws://{Host}/ws
                """,
                address, url, url, url, url, url, site, url, url, new Uri(url).Authority, new Uri(url).Authority);
        }
    }
}
