using Wattstream.Telemetry;
namespace Wattstream.Server.Endpoints;

/// <summary>
/// RFC 9457 problem responses. Each also carries <c>error</c> (a machine key) and <c>message</c>, the members of the
/// whatwatt and Novacore error bodies, so clients written for either read our errors too.
/// </summary>
public static class Problems
{
    public static IResult NotFound(string error, string title, string detail) => Problem(StatusCodes.Status404NotFound, error, title, detail);

    public static IResult BadRequest(string error, string title, string detail) => Problem(StatusCodes.Status400BadRequest, error, title, detail);

    public static IResult Problem(int status, string error, string title, string detail) => TypedResults.Problem(Details(status, error, title, detail));

    /// <summary>The problem document every error of the hub answers with.</summary>
    public static Microsoft.AspNetCore.Mvc.ProblemDetails Details(int status, string error, string title, string detail) => new()
    {
        Status = status,
        Title = title,
        Detail = detail,
        Extensions = { ["error"] = error, ["message"] = detail },
    };

    /// <summary>
    /// Gives a problem the framework wrote (an unknown route's 404, a 405, a body binding's 415, a status-code page) the
    /// <c>error</c> and <c>message</c> members every problem of the hub has; one the hub wrote keeps its own.
    /// </summary>
    public static void Complete(Microsoft.AspNetCore.Http.ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        if (!problem.Extensions.ContainsKey("error"))
        {
            problem.Extensions["error"] = ErrorOf(status);
        }

        if (!problem.Extensions.ContainsKey("message"))
        {
            problem.Detail ??= DetailOf(status, context.HttpContext.Request);
            problem.Extensions["message"] = problem.Detail;
        }
    }

    private static string ErrorOf(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status406NotAcceptable => "not_acceptable",
        StatusCodes.Status408RequestTimeout => "request_timeout",
        StatusCodes.Status409Conflict => "conflict",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status414UriTooLong => "uri_too_long",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status429TooManyRequests => "too_many_requests",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "headers_too_large",
        StatusCodes.Status503ServiceUnavailable => "unavailable",
        >= 500 => "internal_error",
        _ => "error",
    };

    private static string DetailOf(int status, HttpRequest request) => status switch
    {
        StatusCodes.Status404NotFound => $"Nothing is at '{Excerpt.Of(request.Path.Value, 64)}'; /docs lists the endpoints.",
        StatusCodes.Status405MethodNotAllowed => $"'{Excerpt.Of(request.Path.Value, 64)}' does not take {request.Method}; /docs lists what it takes.",
        StatusCodes.Status415UnsupportedMediaType => "The body's Content-Type is not one this endpoint reads (application/json).",
        _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase + "." : $"HTTP {status}.",
    };

    public static IResult NotAWebSocket(string path) =>
        BadRequest("websocket_required", "WebSocket endpoint", $"{path} is a WebSocket: connect with an Upgrade request (ws://…), not a plain GET.");

    /// <summary>A subject token from a URL (site id, meter id): present and without dots, wildcards or white space.</summary>
    public static bool TryValidateId(string? id, string what, out IResult? problem)
    {
        problem = null;
        if (Telemetry.Subjects.IsValidToken(id))
        {
            return true;
        }

        problem = BadRequest("invalid_id", $"Malformed {what}", $"'{Excerpt.Of(id, 64)}' is not a valid {what}: {Telemetry.Subjects.TokenRule}.");
        return false;
    }

    /// <summary>A client's value quoted in a message: at most 64 characters.</summary>
}
