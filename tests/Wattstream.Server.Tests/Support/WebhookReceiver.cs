using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Alerts;

namespace Wattstream.Server.Tests;

/// <summary>
/// A real webhook receiver on loopback (<c>POST /hook</c>): it records every call — the <c>Wattstream-Alert-Id</c>, the
/// alert's state and body, and the status it answered, which a test sets (<see cref="Status"/>: 503 while "down").
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<WebhookCall> _calls = new();
    private int _status = StatusCodes.Status200OK;

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>The hook's URL.</summary>
    public string Url => $"{_app.Urls.Single()}/hook";

    /// <summary>What the receiver answers from now on.</summary>
    public int Status
    {
        get => Volatile.Read(ref _status);
        set => Volatile.Write(ref _status, value);
    }

    /// <summary>Every call so far, in arrival order.</summary>
    public IReadOnlyList<WebhookCall> Calls => [.. _calls];

    /// <summary>The calls answered 200.</summary>
    public IReadOnlyList<WebhookCall> Delivered => [.. _calls.Where(c => c.Answered == StatusCodes.Status200OK)];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = new WebhookReceiver(builder.Build());
        receiver._app.MapPost("/hook", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var status = receiver.Status;
            receiver._calls.Enqueue(new WebhookCall(context.Request.Headers["Wattstream-Alert-Id"], (string)JsonNode.Parse(body)!["state"]!, body, status));
            return Results.StatusCode(status);
        });
        await receiver._app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>One call a <see cref="WebhookReceiver"/> took.</summary>
public sealed record WebhookCall(string? AlertId, string State, string Body, int Answered);

/// <summary>A webhook's delivery cursor for a site as the cluster's bucket holds it (null: none recorded).</summary>
public static class WebhookCursor
{
    public static async Task<long?> ReadAsync(string natsUrl, string webhook, string org, string site)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = natsUrl });
        var bucket = await connection.CreateKeyValueStoreContext().GetStoreAsync(ClusterWebhookDeliveries.CursorsBucket);
        var entry = await bucket.TryGetEntryAsync<string>($"{ClusterBuckets.Encode(webhook)}/{org}/{site}");
        return entry.Success ? long.Parse(entry.Value.Value!, CultureInfo.InvariantCulture) : null;
    }
}
