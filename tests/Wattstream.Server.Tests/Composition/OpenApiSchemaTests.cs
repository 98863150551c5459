using System.Net;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>
/// Issue 27: the API description at <c>/openapi/v1.json</c> (what <c>/docs</c> shows) has a response schema for every
/// success, the problem document for every error, the seed's DERSim snapshot members, and no member it does not name
/// in what the endpoints really send.
/// </summary>
public class OpenApiSchemaTests(SharedHost shared) : IClassFixture<SharedHost>
{
    private WattstreamHost Host => shared.Host;

    private async Task<JsonNode> DocumentAsync() => JsonNode.Parse(await Host.Client.GetStringAsync("/openapi/v1.json"))!;

    private static IEnumerable<(string Path, string Method, JsonObject Operation)> Operations(JsonNode document) =>
        document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()
            .Where(o => o.Value is JsonObject op && op["responses"] is not null)
            .Select(o => (p.Key, o.Key.ToUpperInvariant(), o.Value!.AsObject())));

    [Fact]
    public async Task Every_documented_success_has_a_response_schema_that_names_its_members()
    {
        var document = await DocumentAsync();
        var failures = new List<string>();
        var operations = Operations(document).ToArray();
        Assert.True(operations.Length > 40, $"only {operations.Length} operations described");
        foreach (var (path, method, operation) in operations)
        {
            var successes = operation["responses"]!.AsObject().Where(r => r.Key.StartsWith('2') || r.Key == "101").ToArray();
            if (successes.Length == 0)
            {
                failures.Add($"{method} {path}: no success response documented");
            }

            foreach (var (code, response) in successes)
            {
                // Exempt: 204 No Content and 101 Switching Protocols have no body by definition (HTTP), so no schema.
                if (code is "204" or "101")
                {
                    continue;
                }

                if (response!["content"] is not JsonObject content || content.Count == 0)
                {
                    failures.Add($"{method} {path} {code}: no content");
                    continue;
                }

                foreach (var (mediaType, media) in content)
                {
                    if (media!["schema"] is not { } schema)
                    {
                        failures.Add($"{method} {path} {code} {mediaType}: no schema");
                    }
                    else if (mediaType != "text/csv" && !NamesItsMembers(document, schema))
                    {
                        // A bare object (JsonObject, JsonElement) says nothing a client can rely on.
                        failures.Add($"{method} {path} {code} {mediaType}: a schema without members ({schema.ToJsonString()})");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Every_documented_error_is_the_problem_document_with_error_and_message()
    {
        var document = await DocumentAsync();
        var failures = new List<string>();
        var errors = 0;
        foreach (var (path, method, operation) in Operations(document))
        {
            foreach (var (code, response) in operation["responses"]!.AsObject().Where(r => r.Key[0] is '4' or '5'))
            {
                errors++;
                var schema = response!["content"]?["application/problem+json"]?["schema"];
                var reference = (string?)schema?["$ref"];
                if (reference is not ("#/components/schemas/ProblemDetails" or "#/components/schemas/HttpValidationProblemDetails"))
                {
                    failures.Add($"{method} {path} {code}: {response.ToJsonString()}");
                }
            }
        }

        Assert.True(errors > 40, $"only {errors} error responses described");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        foreach (var name in new[] { "ProblemDetails", "HttpValidationProblemDetails" })
        {
            var problem = document["components"]!["schemas"]![name]!;
            Assert.All(new[] { "type", "title", "status", "detail", "instance", "error", "message" }, m => Assert.NotNull(problem["properties"]![m]));
            Assert.Superset(Set("error", "message"), problem["required"]!.AsArray().Select(r => (string)r!).ToHashSet());
        }

        // And a real problem is what the schema says.
        using var notFound = await Host.Client.GetAsync("/api/dersim/overview?device=9999");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("application/problem+json", notFound.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await notFound.Content.ReadAsStringAsync())!;
        Assert.Empty(Undocumented(document, body, Ref("ProblemDetails"), "problem"));
        Assert.Equal("device_not_found", (string?)body["error"]);
        Assert.False(string.IsNullOrEmpty((string?)body["message"]));
    }

    [Fact]
    public async Task The_dersim_snapshot_schema_has_the_seeds_members()
    {
        var document = await DocumentAsync();
        var ok = document["paths"]!["/api/dersim/overview"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!;
        var snapshot = Resolve(document, ok);

        // The seed's payload table (DERSim, GET /api/dersim/overview).
        Assert.Superset(Set("metrics", "pq", "status", "clock_time", "dc_mode", "dc_port_count", "device_type", "device_profile_name", "asset_type", "device_index"), Members(snapshot));
        Assert.Superset(Set(
            "power_kw", "reactive_power_kvar", "apparent_power_kva", "voltage_ll_v", "voltage_ln_v", "current_a", "frequency_hz", "power_factor",
            "dc_power_kw", "dc_voltage_v", "dc_current_a", "state_of_charge_pct", "soc_reserve_min_pct", "soc_reserve_max_pct", "soc_min_pct",
            "soc_max_pct", "timestamp"), Members(Resolve(document, snapshot["properties"]!["metrics"]!)));
        Assert.Superset(Set("active_kw", "reactive_kvar", "apparent_kva", "angle_deg"), Members(Resolve(document, snapshot["properties"]!["pq"]!)));
        Assert.Superset(Set("service_state", "inverter_state", "connection_state", "message"), Members(Resolve(document, snapshot["properties"]!["status"]!)));

        // The WebSocket's messages are the same JSON; /devices is a list of them.
        var devices = Resolve(document, document["paths"]!["/api/dersim/devices"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!);
        Assert.Equal(ok["$ref"]!.ToJsonString(), devices["items"]!["$ref"]!.ToJsonString());
    }

    [Theory]
    [InlineData("/api/dersim/overview", "get", "application/json", 0)]
    [InlineData("/api/dersim/devices", "get", "application/json", 0)]
    [InlineData("/api/v1/report", "get", "application/json", 0)]
    [InlineData("/api/v1/system", "get", "application/json", 0)]
    [InlineData("/api/v1/settings", "get", "application/json", 0)]
    [InlineData("/api/summaries", "get", "application/json", 0)]
    [InlineData("/api/storage", "get", "application/json", 0)]
    [InlineData("/api/v1/live", "get", "text/event-stream", 3)]
    [InlineData("/api/sse/meters", "get", "text/event-stream", 6)]
    [InlineData("/stream/sites/{siteId}", "get", "text/event-stream", 8)] // the meter, PV, battery and charger differ
    [InlineData("/hes/service/meter-status/stream", "get", "text/event-stream", 1)] // statuses come at connect, then on change
    [InlineData("/stream/summaries", "get", "text/event-stream", 2)]
    public async Task What_an_endpoint_sends_is_what_its_schema_names(string template, string method, string mediaType, int events)
    {
        var document = await DocumentAsync();
        var schema = document["paths"]![template]![method]!["responses"]!["200"]!["content"]![mediaType]!["schema"]!;
        var path = template.Replace("{siteId}", "site-1", StringComparison.Ordinal);
        var failures = new List<string>();
        if (mediaType == "text/event-stream")
        {
            var items = await SseClient.ReadAsync(Host.Client, path, events, TimeSpan.FromSeconds(30));
            Assert.Equal(events, items.Count);
            foreach (var e in items)
            {
                failures.AddRange(Undocumented(document, JsonNode.Parse(e.Data), schema, $"{path} {e.EventType}"));
            }
        }
        else
        {
            var body = await WaitForContentAsync(path);
            failures.AddRange(Undocumented(document, body, schema, path));
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // The simulator's first readings (and summaries) arrive within a second or two of the start.
    private async Task<JsonNode> WaitForContentAsync(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await Host.Client.GetAsync(path);
            if (response.StatusCode == HttpStatusCode.OK
                && JsonNode.Parse(await response.Content.ReadAsStringAsync()) is { } body
                && body is not JsonArray { Count: 0 } && (body is not JsonObject list || list["summaries"] is not JsonArray { Count: 0 }))
            {
                return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} answered {(int)response.StatusCode} or nothing yet");
            await Task.Delay(200);
        }
    }

    private static JsonObject Ref(string name) => new() { ["$ref"] = $"#/components/schemas/{name}" };

    private static JsonNode Resolve(JsonNode document, JsonNode schema)
    {
        for (var i = 0; i < 8; i++)
        {
            if ((string?)schema["$ref"] is { } reference)
            {
                schema = document["components"]!["schemas"]![reference["#/components/schemas/".Length..]]!;
            }
            else if ((schema["oneOf"] ?? schema["anyOf"]) is JsonArray choices
                && choices.FirstOrDefault(c => (string?)c?["type"] != "null") is { } choice)
            {
                schema = choice; // a nullable reference: {"oneOf":[{"type":"null"},{"$ref":…}]}
            }
            else
            {
                return schema;
            }
        }

        throw new InvalidOperationException("references nest too deep");
    }

    private static HashSet<string> Set(params string[] names) => [.. names];

    private static HashSet<string> Members(JsonNode schema) => schema["properties"]?.AsObject().Select(p => p.Key).ToHashSet() ?? [];

    private static bool NamesItsMembers(JsonNode document, JsonNode schema)
    {
        var resolved = Resolve(document, schema);
        return resolved["items"] is { } items ? NamesItsMembers(document, items)
            : resolved["properties"] is JsonObject { Count: > 0 } || (resolved["type"] is { } type && !type.ToJsonString().Contains("object", StringComparison.Ordinal));
    }

    /// <summary>Each member of <paramref name="value"/>, at any depth, that the schema does not name.</summary>
    internal static IEnumerable<string> Undocumented(JsonNode document, JsonNode? value, JsonNode schema, string at)
    {
        schema = Resolve(document, schema);
        switch (value)
        {
            case JsonObject obj:
                var properties = schema["properties"]?.AsObject();
                var additional = schema["additionalProperties"];
                if (properties is null && additional is null && schema["type"] is null)
                {
                    yield break; // declared as any JSON (JsonElement): nothing to compare
                }

                foreach (var (name, member) in obj)
                {
                    if (properties?[name] is { } property)
                    {
                        foreach (var failure in Undocumented(document, member, property, $"{at}.{name}"))
                        {
                            yield return failure;
                        }
                    }
                    else if (additional is JsonObject)
                    {
                        foreach (var failure in Undocumented(document, member, additional, $"{at}.{name}"))
                        {
                            yield return failure;
                        }
                    }
                    else
                    {
                        yield return $"{at}.{name} is sent but not in the schema";
                    }
                }

                foreach (var required in schema["required"]?.AsArray().Select(r => (string)r!) ?? [])
                {
                    if (!obj.ContainsKey(required))
                    {
                        yield return $"{at}.{required} is required by the schema but not sent";
                    }
                }

                break;
            case JsonArray array when schema["items"] is { } items:
                foreach (var (item, i) in array.Select((item, i) => (item, i)))
                {
                    foreach (var failure in Undocumented(document, item, items, $"{at}[{i}]"))
                    {
                        yield return failure;
                    }
                }

                break;
        }
    }
}
