using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Endpoints.Alerts;

// An alert as every client gets it (its JSON is made once by Alert and shared by SSE, /ws, NATS, webhooks and REST);
// declared here for the API description.

/// <summary>The seed's notification (<c>type</c>, <c>message</c>, <c>timestamp</c>, <c>data</c>) plus its id, rule, state and place.</summary>
public sealed class AlertDocument
{
    [JsonPropertyName("id")]
    public required long Id { get; init; }

    [JsonPropertyName("rule"), Description("The rule's id; `reported` for an alert a client posted")]
    public required string Rule { get; init; }

    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("state"), Description("firing or resolved")]
    public required string State { get; init; }

    [JsonPropertyName("message")]
    public required string Message { get; init; }

    [JsonPropertyName("timestamp")]
    public required string Timestamp { get; init; }

    [JsonPropertyName("org")]
    public required string Org { get; init; }

    [JsonPropertyName("site")]
    public required string Site { get; init; }

    [JsonPropertyName("device"), Description("Absent for an alert about a whole site")]
    public string? Device { get; init; }

    [JsonPropertyName("der")]
    public string? Der { get; init; }

    [JsonPropertyName("subject")]
    public string? Subject { get; init; }

    [JsonPropertyName("value")]
    public double? Value { get; init; }

    [JsonPropertyName("threshold")]
    public double? Threshold { get; init; }

    [JsonPropertyName("data"), Description("The reading that triggered it (Novacore's reading JSON), or what a client reported")]
    public JsonElement? Data { get; init; }
}

/// <summary><c>GET /api/alerts</c> and <c>/api/alerts/active</c>.</summary>
public sealed class AlertListDocument
{
    [JsonPropertyName("alerts")]
    public required IReadOnlyList<AlertDocument> Alerts { get; init; }
}
