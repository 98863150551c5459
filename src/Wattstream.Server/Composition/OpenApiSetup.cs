using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

using Wattstream.Server.Endpoints;

namespace Wattstream.Server.Composition;

/// <summary>
/// The API description at <c>/openapi/v1.json</c> (and <c>/docs</c>). Response schemas come from the endpoints' declared
/// types (<c>.Produces&lt;T&gt;()</c>); what the framework cannot know from them is added here: the members every
/// problem of the hub has, and how an event stream carries its schema.
/// </summary>
internal static class OpenApiSetup
{
    public const string EventStream = "text/event-stream";

    public static IServiceCollection AddWattstreamOpenApi(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Wattstream";
            document.Info.Description = "Real-time energy telemetry hub: whatwatt, HES, Novacore and DERSim compatible streams, discovery and a general WebSocket (docs/protocol.md).";
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (typeof(Microsoft.AspNetCore.Mvc.ProblemDetails).IsAssignableFrom(context.JsonTypeInfo.Type))
            {
                AddProblemMembers(schema);
            }

            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (operation.Responses is null)
            {
                return Task.CompletedTask;
            }

            foreach (var response in operation.Responses.Values)
            {
                if (response.Content?.TryGetValue(EventStream, out var stream) == true && stream.Schema is not null && response is OpenApiResponse described)
                {
                    described.Description = "An event stream (SSE): each event's `data:` is one JSON document of this schema; lines starting with `:` are heartbeats.";
                }
            }

            // One status code has one declared type, so the CSV beside an endpoint's JSON is added here.
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<CsvAlternative>().Any()
                && operation.Responses.TryGetValue("200", out var ok) && ok.Content is { } content)
            {
                content[CsvAlternative.ContentType] = new OpenApiMediaType
                {
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "CSV with a header row (`?format=csv` or `Accept: text/csv`)" },
                };
            }

            return Task.CompletedTask;
        });
    });

    /// <summary>The endpoint also answers its 200 as CSV (<see cref="CsvWriter"/>), beside the JSON it declares.</summary>
    public static RouteHandlerBuilder ProducesCsv(this RouteHandlerBuilder builder) => builder.WithMetadata(CsvAlternative.Instance);

    private sealed class CsvAlternative
    {
        public const string ContentType = "text/csv";

        public static readonly CsvAlternative Instance = new();
    }

    // Problems.Details gives every problem error and message (the whatwatt and Novacore error members), and
    // Problems.Complete gives them to the framework's own problems too: the schema says so. The problem service adds
    // traceId to every problem.
    private static void AddProblemMembers(OpenApiSchema schema)
    {
        schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
        schema.Properties["error"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A machine key, e.g. not_found, invalid_id, too_many_requests" };
        schema.Properties["message"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What went wrong, for people (the same as detail)" };
        schema.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's trace id, as the hub's log has it" };
        schema.Required ??= new HashSet<string>();
        schema.Required.Add("error");
        schema.Required.Add("message");
    }
}
