using System.Collections.Concurrent;
using Microsoft.AspNetCore.Diagnostics;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// What no other handler answered: a 500 problem document without a trace, and one log line per kind of exception
/// per minute with how many there were, so a client that loops on a failing request cannot flood the log.
/// </summary>
internal sealed class UnexpectedErrors(IProblemDetailsService problems, TimeProvider time, ILogger<UnexpectedErrors> logger) : IExceptionHandler
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(Type, string?), Occurrences> _seen = new();

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var site = exception.TargetSite?.DeclaringType?.FullName;
        var entry = _seen.GetOrAdd((exception.GetType(), site), _ => new Occurrences());
        var now = time.GetUtcNow();
        int suppressed;
        bool log;
        lock (entry)
        {
            entry.Count++;
            log = now - entry.LoggedAt >= Window;
            suppressed = log ? entry.Count - 1 : 0;
            if (log)
            {
                entry.LoggedAt = now;
                entry.Count = 0;
            }
        }

        if (log)
        {
            logger.LogError(exception, "Unexpected error answering {Method} {Path} ({Suppressed} more of this kind in the last minute were not logged)", context.Request.Method, context.Request.Path, suppressed);
        }

        if (context.Response.HasStarted)
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = Problems.Details(StatusCodes.Status500InternalServerError, "internal_error", "Internal error", "The hub could not answer this request; the error is logged."),
        });
    }

    private sealed class Occurrences
    {
        public int Count { get; set; }

        public DateTimeOffset LoggedAt { get; set; } = DateTimeOffset.MinValue;
    }
}
