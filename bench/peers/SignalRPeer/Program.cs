using Microsoft.AspNetCore.SignalR;

// Fan-out peer: POST /publish with NDJSON; every line goes to the clients of its site as
// Clients.Group(site).SendAsync("r", line) — what a .NET team would write first. Clients call Join(site).
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
            await hub.Clients.Group(SiteOf(line)).SendAsync("r", line);
        }
    }

    return Results.Ok();
});
app.Run();

static string SiteOf(string line)
{
    const string Key = "\"site\":\"";
    var start = line.IndexOf(Key, StringComparison.Ordinal) + Key.Length;
    return line[start..line.IndexOf('"', start)];
}

internal sealed class BroadcastHub : Hub
{
    public Task Join(string site) => Groups.AddToGroupAsync(Context.ConnectionId, site);
}
