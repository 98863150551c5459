using Microsoft.AspNetCore.Diagnostics;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// Kestrel's own rejections that reach the pipeline — a body over the size limit (413), a malformed body or chunked
/// encoding (400), a request that took too long to send its body (408) — answered with the same problem document as
/// every other error, instead of an empty response.
/// </summary>
internal sealed class BadRequestProblems(IProblemDetailsService problems, ILogger<BadRequestProblems> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || context.Response.HasStarted)
        {
            return false;
        }

        logger.LogDebug("Rejected {Method} {Path}: {Reason}", context.Request.Method, context.Request.Path, bad.Message);
        var (error, title) = bad.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => ("too_large", "Request too large"),
            StatusCodes.Status408RequestTimeout => ("request_timeout", "Request body too slow"),
            StatusCodes.Status431RequestHeaderFieldsTooLarge => ("headers_too_large", "Request headers too large"),
            _ => ("bad_request", "Malformed request"),
        };
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = Problems.Details(bad.StatusCode, error, title, bad.Message),
        });
    }
}
