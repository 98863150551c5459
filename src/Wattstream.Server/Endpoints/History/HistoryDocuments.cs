using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Endpoints.History;

// What GET /api/history answers in JSON (written by HistoryResponses with a Utf8JsonWriter; declared here for the API
// description).

/// <summary>History of the DERs asked for, bucketed by <c>step</c>.</summary>
public sealed class HistoryDocument
{
    [JsonPropertyName("from")]
    public required string From { get; init; }

    [JsonPropertyName("to")]
    public required string To { get; init; }

    [JsonPropertyName("step"), Description("As asked, e.g. 1m")]
    public required string Step { get; init; }

    [JsonPropertyName("agg"), Description("avg, min, max or last")]
    public required string Agg { get; init; }

    [JsonPropertyName("fields"), Description("The columns of every point, in order")]
    public required IReadOnlyList<string> Fields { get; init; }

    [JsonPropertyName("series")]
    public required IReadOnlyList<HistorySeriesDocument> Series { get; init; }
}

/// <summary>One DER's points.</summary>
public sealed class HistorySeriesDocument
{
    [JsonPropertyName("subject")]
    public required string Subject { get; init; }

    [JsonPropertyName("org")]
    public required string Org { get; init; }

    [JsonPropertyName("site")]
    public required string Site { get; init; }

    [JsonPropertyName("device")]
    public required string Device { get; init; }

    [JsonPropertyName("der")]
    public required string Der { get; init; }

    [JsonPropertyName("points")]
    public required IReadOnlyList<HistoryPointDocument> Points { get; init; }
}

/// <summary>A bucket: its start, then one member per field (w, l1_v, …, import_wh, soc), a number or null.</summary>
[Description("A bucket: `time` (its start), then one member per field asked for (w, l1_v, …, import_wh, soc), a number or null")]
public sealed class HistoryPointDocument
{
    [JsonPropertyName("time")]
    public required string Time { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Fields { get; init; }
}
