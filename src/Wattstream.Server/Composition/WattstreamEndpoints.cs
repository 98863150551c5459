using Microsoft.Extensions.Options;
using Prometheus;
using Scalar.AspNetCore;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Server.Access;
using Wattstream.Server.Audit;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Health;
using Wattstream.Server.Nats;
using Wattstream.Server.Endpoints.Dashboard;
using Wattstream.Server.Endpoints.Alerts;
using Wattstream.Server.Endpoints.Energy;
using Wattstream.Server.Endpoints.History;
using Wattstream.Server.Endpoints.Ingest;
using Wattstream.Server.Transports.WebSockets;

using Wattstream.Server.Feeds;

namespace Wattstream.Server.Composition;

public static class WattstreamEndpoints
{
    /// <summary>The middleware, the API reference, health, ingest, history, the dashboard and every registered wire family.</summary>
    public static WebApplication MapWattstream(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService<BoundAddressCheck>() is { } binding)
        {
            app.Use(binding.InvokeAsync); // before anything: nothing is served until the bound addresses are judged
        }

        app.UseHeadAsGet();
        app.UseRouting(); // after HEAD became GET, so it finds the GET endpoint

        app.UseTrustedProxies(); // first of the rest: everything after sees the client's own address
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHostNames(app.Configuration); // DNS rebinding: unknown Host names get 400, before CORS and everything else
        app.UseCors(CorsSetup.PolicyName); // before the browser checks: a preflight is answered here
        app.UseBrowserSafety();
        app.UseAuthentication();
        if (app.Services.GetService<AuthFailureThrottle>() is { } throttle)
        {
            app.Use(throttle.InvokeAsync); // between: the credential is judged, and a refused guess not yet answered with 401
        }

        app.UseAuthorization();
        app.UseWebSocketWriteBatching(); // before UseWebSockets, which takes the upgrade features it wraps
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = app.Services.GetRequiredService<IOptions<WebSocketStreamingOptions>>().Value.KeepAliveInterval });
        if (Binding.TokensRequired(app.Configuration))
        {
            app.UseSessionCookieOriginCheck(); // after UseWebSockets: an upgrade is known as one
        }

        app.UseRateLimiter(); // after authentication (limits are per caller) and UseWebSockets (an upgrade counts as a stream, refused before it is accepted)

        // Public whatever the auth mode: the API's description, health, and the dashboard's own files (it logs in itself).
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapScalarApiReference("/docs", options => options
            .WithTitle("Wattstream API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")).AllowAnonymous();

        var insecure = Binding.IsInsecure(app.Configuration)
            ? "listening beyond loopback without authentication (--Insecure=true): every caller can read and push everything"
            : null;
        app.MapGet("/healthz", (TelemetryHub hub) => TypedResults.Ok(new HealthResponse("ok", hub.Counters.Accepted, hub.Counters.Subscribers, insecure)))
            .WithTags("general")
            .WithSummary("200 while the hub is alive")
            .AllowAnonymous();
        var metrics = app.Services.GetRequiredService<Metrics.WattstreamMetrics>(); // its instruments exist from the start
        app.MapMetrics("/metrics", metrics.Registry).WithTags("general").WithSummary("Prometheus metrics: the hub's, the runtime's and the process's")
            .RequireAuthorization(AuthSetup.AdminPolicy);
        app.MapReadiness()
            .AllowAnonymous()
            .WithTags("general")
            .WithSummary("200 when ready to serve (store, feeds, not draining), 503 otherwise; JSON names each dependency's state");
        foreach (var family in app.Services.GetServices<IWireFamily>())
        {
            family.MapEndpoints(app);
        }

        app.MapSession();
        app.MapApiKeys();
        app.MapAudit();
        app.MapIngest();
        app.MapNats();
        app.MapHistory();
        app.MapAlerts();
        app.MapAlertRules();
        app.MapEnergy();
        app.MapDashboard();

        app.MapFeeds();

        // Streams end when the host stops: their readers see the end, then the transports say goodbye.
        var feeds = app.Services.GetRequiredService<Wattstream.Streaming.Feeds.FeedRegistry>();
        app.Lifetime.ApplicationStopping.Register(feeds.CompleteAll);
        return app;
    }

    public sealed record HealthResponse(string Status, long ReadingsAccepted, int Subscribers, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Warning = null);
}
