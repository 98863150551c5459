using Microsoft.AspNetCore.Mvc;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Storage;

namespace Wattstream.Server.Endpoints.History;

/// <summary>History queries, bucketed in the database, as JSON or CSV; and the store's status.</summary>
public static class HistoryEndpoints
{
    public static IEndpointRouteBuilder MapHistory(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/history", QueryAsync)
            .WithTags("history")
            .WithSummary("Time-bucketed history of one DER or a whole site, as JSON or CSV")
            .WithDescription("`?der=62124022441` (DER id or subject, repeatable) or `?site=site-1`; `from`, `to` (ISO-8601 or epoch ms; default the last hour); `step` (e.g. `10s`, `1m`, `1h`, `1d`; default `1m`); `fields` (w, l1_v, l2_v, l3_v, l1_a, l2_a, l3_a, l1_w, l2_w, l3_w, import_wh, export_wh, soc; default w); `agg` (avg, min, max, last). CSV with `Accept: text/csv` or `?format=csv`.")
            .Produces<HistoryDocument>()
            .ProducesCsv()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/storage", ([FromServices] HistoryWriter? writer, [FromServices] RetentionService? retention) => writer is not null
                ? Results.Ok(Status(writer, retention))
                : HistoryOff())
            .RequireAuthorization(Access.AuthSetup.AdminPolicy)
            .WithTags("history")
            .WithSummary("The store, the writer's queue depth and lag, and its counters")
            .Produces<StorageStatus>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> QueryAsync(
        HttpContext context,
        [AsParameters] HistoryRequest request,
        DerDirectory directory,
        ITelemetryAccess access,
        TimeProvider time,
        [FromServices] IReadingStore? store)
    {
        if (store is null)
        {
            return HistoryOff();
        }

        var known = directory.All(access.Resolve(context)).Select(d => d.Address).ToArray();
        if (!request.TryValidate(known, time.GetUtcNow(), out var query, out var problem))
        {
            return problem!;
        }

        var series = await store.QueryAsync(query, context.RequestAborted);
        return CsvWriter.IsAsked(context) ? HistoryResponses.Csv(series, query.Fields) : HistoryResponses.Json(query, series, request.StepText);
    }

    // The writer's status, and beside it what the store says of itself: damage, and the room it takes (SQLite).
    private static StorageStatus Status(HistoryWriter writer, RetentionService? retention) => writer.Status with
    {
        Damage = writer.Store.Damage,
        Size = writer.Store.Size is { } size
            ? new StorageRoom(
                size.UsedBytes,
                size.FileBytes,
                size.WalBytes,
                retention?.MaxBytes,
                retention?.DeletedForSize,
                retention?.SizeCutoff is { } cutoff ? DateTimeOffset.FromUnixTimeMilliseconds(cutoff) : null)
            : null,
    };

    private static IResult HistoryOff() =>
        Problems.Problem(StatusCodes.Status503ServiceUnavailable, "history_off", "History is off", "Storage:Enabled is false.");
}
