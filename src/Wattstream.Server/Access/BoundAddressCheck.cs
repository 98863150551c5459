using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Access;

/// <summary>
/// Judges the addresses Kestrel really bound, not a reading of the configuration: whatever set them (<c>urls</c>,
/// <c>*_URLS</c>, <c>*_HTTP_PORTS</c>, <c>*_HTTPS_PORTS</c>, <c>Kestrel:Endpoints</c>, code, defaults), a hub without
/// tokens that is reachable beyond loopback stops its start with the message of <see cref="Binding.RefuseOpenAddresses"/>.
/// Until the addresses are judged (between Kestrel's bind and the end of the start) every request gets 503, so no caller
/// is served by a hub that is about to refuse to run.
/// </summary>
internal sealed class BoundAddressCheck(IServer server, IConfiguration configuration) : IHostedLifecycleService
{
    private volatile bool _judged;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Binding.RefuseOpenAddresses(addresses, configuration); // throws: the host's start fails, serve says why and exits 1
        _judged = true;
        return Task.CompletedTask;
    }

    // Not async: once judged, a request is the next middleware's task as it is (no state machine per request).
    public Task InvokeAsync(HttpContext context, RequestDelegate next) => _judged
        ? next(context)
        : Problems.Problem(StatusCodes.Status503ServiceUnavailable, "starting", "Starting", "The hub is starting; retry in a moment.").ExecuteAsync(context);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
