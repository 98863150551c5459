using Microsoft.AspNetCore.Diagnostics;
using Wattstream.Storage;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// What the store says about itself, for every endpoint that reads it (history, energy, resume): a damaged store is
/// <c>503 store_damaged</c>, a read stopped by <c>Storage:QueryTimeout</c> is <c>503 query_timeout</c>, never a bare 500.
/// Likewise a write of the cluster's shared configuration while NATS is away: <c>503 nats_unavailable</c>.
/// </summary>
internal sealed class StoreProblems(IProblemDetailsService problems, ILogger<StoreProblems> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            StoreDamagedException => Problems.Details(StatusCodes.Status503ServiceUnavailable, "store_damaged", "The history store is damaged", exception.Message),
            StoreQueryTimeoutException => Problems.Details(StatusCodes.Status503ServiceUnavailable, "query_timeout", "The query took too long", exception.Message),
            // In cluster mode API keys and rules are written to NATS KV; what is known keeps working while NATS is away.
            NATS.Client.Core.NatsException => Problems.Details(StatusCodes.Status503ServiceUnavailable, "nats_unavailable", "NATS is not answering", "The cluster's shared configuration (NATS KV) did not confirm the change within 5 s. Once NATS is back, look whether it was made before trying again."),
            _ => null,
        };
        if (problem is null || context.Response.HasStarted)
        {
            return problem is not null;
        }

        logger.LogDebug("{Path}: {Problem}", context.Request.Path, exception.Message); // the store logs damage once; /readyz and metrics say it
        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}
