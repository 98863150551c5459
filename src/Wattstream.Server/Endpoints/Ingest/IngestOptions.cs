using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>The push API's limits (section <c>Ingest</c>).</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>Push requests whose bodies may be read at once; more get 429 with <c>Retry-After</c> (bodies are held whole while validated).</summary>
    [Range(1, 1024)]
    public int MaxConcurrentPushes { get; set; } = 8;

    /// <summary>
    /// Durable pushes (<c>?durable=true</c>) at once, from their body to their answer; more get 429 with <c>Retry-After</c>.
    /// Slots of their own, so pushes waiting for the store never take the slots of ordinary pushes.
    /// </summary>
    [Range(1, 1024)]
    public int MaxConcurrentDurablePushes { get; set; } = 16;
}
