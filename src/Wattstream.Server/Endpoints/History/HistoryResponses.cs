using System.Text.Json;
using Wattstream.Storage;

namespace Wattstream.Server.Endpoints.History;

/// <summary>History series as JSON or CSV.</summary>
internal static class HistoryResponses
{
    public static IResult Csv(IReadOnlyList<HistorySeries> series, IReadOnlyList<HistoryField> fields)
    {
        var csv = new CsvWriter(["time", "subject", "der", .. fields.Select(f => f.Column())]);
        foreach (var s in series)
        {
            foreach (var p in s.Points)
            {
                csv.Text(Iso(p.Time)).Text(s.Der.Subject).Text(s.Der.Der);
                foreach (var v in p.Values)
                {
                    csv.Number(v);
                }

                csv.EndRow();
            }
        }

        return csv.ToResult();
    }

    public static IResult Json(HistoryQuery query, IReadOnlyList<HistorySeries> series, string step)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("from", Iso(query.From));
            w.WriteString("to", Iso(query.To));
            w.WriteString("step", step);
            w.WriteString("agg", query.Aggregate.ToString().ToLowerInvariant());
            w.WriteStartArray("fields");
            foreach (var f in query.Fields)
            {
                w.WriteStringValue(f.Column());
            }

            w.WriteEndArray();
            w.WriteStartArray("series");
            foreach (var s in series)
            {
                w.WriteStartObject();
                w.WriteString("subject", s.Der.Subject);
                w.WriteString("org", s.Der.Org);
                w.WriteString("site", s.Der.Site);
                w.WriteString("device", s.Der.Device);
                w.WriteString("der", s.Der.Der);
                w.WriteStartArray("points");
                foreach (var p in s.Points)
                {
                    w.WriteStartObject();
                    w.WriteString("time", Iso(p.Time));
                    for (var i = 0; i < query.Fields.Count; i++)
                    {
                        if (p.Values[i] is { } v)
                        {
                            w.WriteNumber(query.Fields[i].Column(), v);
                        }
                        else
                        {
                            w.WriteNull(query.Fields[i].Column());
                        }
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    private static string Iso(long ms) => Telemetry.WireTime.Format(DateTimeOffset.FromUnixTimeMilliseconds(ms));

}
