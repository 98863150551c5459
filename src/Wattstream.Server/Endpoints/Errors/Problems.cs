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

        problem = BadRequest("invalid_id", $"Malformed {what}", $"'{Truncate(id)}' is not a valid {what}: {Telemetry.Subjects.TokenRule}.");
        return false;
    }

    /// <summary>A client's value quoted in a message: at most 64 characters.</summary>
    public static string Truncate(string? value) => value is null ? "" : value.Length <= 64 ? value : value[..64] + "…";
}
