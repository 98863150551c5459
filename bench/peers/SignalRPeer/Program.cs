using Microsoft.AspNetCore.SignalR;

// Fan-out peer: POST /publish with NDJSON; every line goes to every client as Clients.All.SendAsync("r", line) —
// what a .NET team would write first.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddSignalR();
var app = builder.Build();
app.MapHub<BroadcastHub>("/hub");
app.MapPost("/publish", async (HttpRequest request, IHubContext<BroadcastHub> hub) =>
{
    using var reader = new StreamReader(request.Body);
    while (await reader.ReadLineAsync() is { } line)
    {
        if (line.Length > 0)
        {
            await hub.Clients.All.SendAsync("r", line);
        }
    }

    return Results.Ok();
});
app.Run();

internal sealed class BroadcastHub : Hub;
