using Microsoft.AspNetCore.RateLimiting;
using System.Threading.RateLimiting;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Server.Composition;
using Wattstream.Hub.Resume;
using Wattstream.Sources;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>Sources as a resource (<c>GET /api/sources</c>) and the push API for gateways (<c>POST /api/readings</c>).</summary>
public static class IngestEndpoints
{
    public const long MaxPushBytes = 4 * 1024 * 1024;

    /// <summary>The rate-limiter policy that bounds the push bodies held at once.</summary>
    public const string PushLimiter = "push";

    /// <summary>At most <see cref="IngestOptions.MaxConcurrentPushes"/> push bodies at once; the next gets 429 at once, not a queue.</summary>
    public static IServiceCollection AddIngestLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<IngestOptions>(configuration, IngestOptions.SectionName);
        var options = configuration.GetSection(IngestOptions.SectionName).Get<IngestOptions>() ?? new IngestOptions();
        services.AddRateLimiter(limiter =>
        {
            // Durable pushes wait for the store: they get slots of their own, so that waiting never takes an ordinary push's slot.
            limiter.AddPolicy(PushLimiter, context => IsDurable(context.Request)
                ? RateLimitPartition.GetConcurrencyLimiter("durable", _ => new ConcurrencyLimiterOptions { PermitLimit = options.MaxConcurrentDurablePushes, QueueLimit = 0 })
                : RateLimitPartition.GetConcurrencyLimiter("ordinary", _ => new ConcurrencyLimiterOptions { PermitLimit = options.MaxConcurrentPushes, QueueLimit = 0 }));
            // The 429 answer of every limiter is written in one place: Access/CallerLimits.
        });
        services.AddSingleton<DurablePushRefusals>();
        return services;
    }

    /// <summary>A push that asks to be answered only once its readings are stored (<c>?durable=true</c>).</summary>
    public static bool IsDurable(HttpRequest request) => request.Query["durable"].FirstOrDefault() is "true" or "1";

    public static IEndpointRouteBuilder MapIngest(this IEndpointRouteBuilder app)
    {
        // In cluster mode each source runs on one node: every node shows it as its owner shares it.
        // The embedded broker's devices follow, each as the node it is connected to sees it.
        app.MapGet("/api/sources", (SourceHost sources, IServiceProvider services) =>
                (services.GetService<ClusterSourceStatuses>()?.Statuses() ?? sources.Statuses())
                    .Concat(services.GetService<Wattstream.Mqtt.Broker.MqttBroker>()?.Statuses(sources.Node) ?? []))
            .RequireAuthorization(Access.AuthSetup.AdminPolicy)
            .WithTags("ingest")
            .WithSummary("Every configured source, and every device of the embedded MQTT broker (kind mqtt-device), with its owner node, status, last-seen time, last error and counters");
        app.MapPost("/api/readings", PushAsync)
            .WithTags("ingest")
            .WithSummary("Push readings: one reading JSON, an array, or NDJSON (application/x-ndjson)")
            .WithDescription("Each reading is Novacore's reading JSON plus `org`, `site`, `device` and `der` ids, e.g. `{\"org\":\"acme\",\"site\":\"s1\",\"device\":\"gw1\",\"der\":\"pv1\",\"type\":\"pv\",\"timestamp\":1763900000000,\"W\":-2500}`. All are validated first: one bad reading rejects the request with a 400 naming every bad field by index, and nothing is stored. Otherwise the answer lists each reading's event id, or marks it a duplicate.")
            .Accepts<JsonObject>("application/json", "application/x-ndjson")
            .Produces<PushResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .RequireRateLimiting(PushLimiter)
            .RequireAuthorization(Access.AuthSetup.PublishPolicy)
            .DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> PushAsync(HttpContext context, TelemetryHub hub, TimeProvider time, Access.ITelemetryAccess access, DurablePushRefusals refusals, [Microsoft.AspNetCore.Mvc.FromServices] HistoryWriter? history)
    {
        var durable = IsDurable(context.Request);
        if (durable && history is null)
        {
            return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "history_off", "History is off", "durable=true needs history (Storage:Enabled is false).");
        }

        if (durable && history!.IsFailing)
        {
            // Known away: said at once, before the body is read, rather than after a wait that can only time out.
            return StoreUnavailable(context, history, refusals, DurablePushRefusals.StoreAway, $"{history.Store.Kind} is not reachable ({history.Status.LastError}); nothing was accepted.");
        }

        if (context.Request.ContentLength > MaxPushBytes)
        {
            hub.Rejections.Count(RejectionReason.TooLarge);
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, "too_large", "Request too large", $"At most {MaxPushBytes} bytes per request.");
        }

        var body = await PushBody.ReadAsync(context.Request);
        if (body is null)
        {
            hub.Rejections.Count(RejectionReason.TooLarge);
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, "too_large", "Request too large", $"At most {MaxPushBytes} bytes per request.");
        }

        var ndjson = context.Request.ContentType?.Contains("ndjson", StringComparison.OrdinalIgnoreCase) == true;
        // Malformed JSON anywhere (the body's shape, or any reading) refuses the whole request.
        List<ReadOnlyMemory<byte>> items;
        Dictionary<string, string[]>? errors = null; // made for an invalid reading only
        var readings = new List<Reading>();
        var now = time.GetUtcNow();
        try
        {
            items = PushBody.Split(body, ndjson);
            readings.Capacity = items.Count;
            for (var i = 0; i < items.Count; i++)
            {
                if (PushedReading.Validate(items[i], now, out var reading, out var problems))
                {
                    readings.Add(reading!);
                }
                else
                {
                    (errors ??= new())[$"[{i}]"] = problems!.ToArray();
                }
            }
        }
        catch (JsonException e)
        {
            hub.Rejections.Count(RejectionReason.Malformed);
            return Problems.BadRequest("malformed_json", "Malformed JSON", e.Message);
        }

        if (items.Count == 0)
        {
            hub.Rejections.Count(RejectionReason.Malformed);
            return Problems.BadRequest("empty", "No readings", "The body holds no reading.");
        }

        if (errors is not null)
        {
            hub.Rejections.Count(RejectionReason.Invalid, items.Count); // none of the request's readings is accepted
            return TypedResults.ValidationProblem(errors, title: "Invalid readings", detail: $"{errors.Count} of {items.Count} readings are invalid; none was accepted.", extensions: new Dictionary<string, object?> { ["error"] = "invalid_readings" });
        }

        // A reading outside the caller's orgs and sites refuses the whole request, before anything is accepted.
        var scope = access.ResolvePublish(context);
        var outside = readings.Select((r, i) => (r, i)).Where(x => !scope.CanSee(x.r.Der)).Select(x => x.i).ToArray();
        if (outside.Length > 0)
        {
            hub.Rejections.Count(RejectionReason.OutsideScope, readings.Count);
            return Problems.Problem(
                StatusCodes.Status403Forbidden,
                "outside_scope",
                "Outside the token's orgs and sites",
                $"Readings [{string.Join(", ", outside.Take(20))}] are for an org or site this token may not publish to; none was accepted.");
        }

        // New DERs past the hub's limits refuse the whole request, before anything is accepted.
        if (hub.CheckLimits(readings.Select(r => r.Der)) is { } limit)
        {
            hub.Rejections.Count(RejectionReason.DerLimit, readings.Count);
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "der_limit", "Too many DERs", $"Refused: {limit}. Readings of DERs the hub already has are still accepted.");
        }

        // A durable push's readings are tracked one by one before they are published, so none is lost unseen between
        // the hub and the store (the full queue keeps them aside); refused before anything is accepted if that cannot be.
        DurablePush? push = null;
        if (durable && (push = history!.TryBeginDurable(readings, out var refusal)) is null)
        {
            return StoreUnavailable(context, history!, refusals, history!.IsFailing ? DurablePushRefusals.StoreAway : DurablePushRefusals.ReserveFull, $"{refusal} Nothing was accepted.");
        }

        using var tracked = push;
        var accepted = new List<AcceptedReading>();
        var duplicates = new List<int>();
        var rejected = new List<RejectedReading>();
        // All sent before any answer is awaited: in cluster mode each is a JetStream acknowledgement, and they come back
        // pipelined; in-process they are already done.
        var logged = hub.Log is null ? null : readings.Select(r => hub.PublishAsync(r, context.RequestAborted).AsTask()).ToArray();

        for (var i = 0; i < readings.Count; i++)
        {
            PublishResult result;
            try
            {
                result = logged is null ? hub.Publish(readings[i]) : await logged[i];
            }
            catch (Exception e) when (e is not OperationCanceledException && hub.Log is not null)
            {
                // Cluster mode: the stream did not acknowledge. Those already answered are in; the client may send all again
                // (the stream stores a reading it has once).
                return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "log_unavailable", "The cluster's stream is not reachable", $"Readings from [{i}] on were not confirmed by the JetStream stream; sending them again is safe.");
            }

            if (result.IsAccepted)
            {
                accepted.Add(new AcceptedReading(i, HubEventId.Format(hub.Epoch, result.Sequence!.Value), readings[i].Der.Subject));
            }
            else if (result.Outcome == PublishOutcome.Rejected)
            {
                rejected.Add(new RejectedReading(i, result.Rejection!)); // a limit reached by another request meanwhile
                push?.Release(readings[i]);
            }
            else
            {
                duplicates.Add(i);
                // Accepted before, but perhaps dropped before it was stored: written again (the store keeps it once), at
                // the newest event id if the first copy is gone.
                push?.WriteAgain(readings[i], new EventPosition(hub.Epoch, hub.Counters.LastEventId));
            }
        }

        if (push is not null)
        {
            // Answer only once every reading of the request is committed (each tracked on its own).
            history!.FlushSoon();
            try
            {
                // The wait ends early when the store is found away: the answer says so at once rather than after the timeout.
                await Task.WhenAny(push.StoredAsync, history.Failing).WaitAsync(DurableTimeout, time, context.RequestAborted);
            }
            catch (TimeoutException)
            {
                return Problems.Problem(StatusCodes.Status504GatewayTimeout, "not_durable", "Not stored in time", $"The readings were accepted but not committed to the store within {DurableTimeout.TotalSeconds:0} s; GET /api/storage shows the writer.");
            }

            if (!push.StoredAsync.IsCompleted)
            {
                return StoreUnavailable(context, history, refusals, DurablePushRefusals.StoreAway, $"{history.Store.Kind} went away ({history.Status.LastError}): the readings were accepted (live clients have them) but are not confirmed stored; sending them again is safe.");
            }
        }

        return TypedResults.Ok(new PushResponse(accepted.ToArray(), duplicates.ToArray(), rejected.Count == 0 ? null : rejected.ToArray()));
    }

    private static readonly TimeSpan DurableTimeout = TimeSpan.FromSeconds(10);

    private static IResult StoreUnavailable(HttpContext context, HistoryWriter history, DurablePushRefusals refusals, string reason, string message)
    {
        refusals.Count(reason);
        context.Response.Headers.RetryAfter = history.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The store cannot confirm a durable push now", message);
    }
}
