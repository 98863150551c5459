using System.ComponentModel.DataAnnotations;

namespace Wattstream.Nats;

/// <summary>The hub's NATS link (section <c>Nats</c>). Without <see cref="Url"/> nothing of NATS runs.</summary>
public sealed class NatsOptions
{
    public const string SectionName = "Nats";

    /// <summary>The server, or several of a cluster comma-separated: <c>nats://127.0.0.1:4222</c>. No credentials in it.</summary>
    public string? Url { get; set; }

    /// <summary>User name (with <see cref="Password"/>).</summary>
    public string? User { get; set; }

    /// <summary>Never logged; prefer the environment (<c>Nats__Password</c>).</summary>
    public string? Password { get; set; }

    /// <summary>A server token. Never logged.</summary>
    public string? Token { get; set; }

    /// <summary>A <c>.creds</c> file (user JWT and NKey seed).</summary>
    public string? CredsFile { get; set; }

    /// <summary>An NKey seed file (<c>SU…</c>).</summary>
    public string? NKeySeedFile { get; set; }

    /// <summary>The JetStream stream that keeps the telemetry subjects.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_-]{1,64}$")]
    public string Stream { get; set; } = "ENRICHED_TELEMETRY";

    /// <summary>How long the stream keeps a reading (Novacore keeps seven days).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Within this window a reading published twice (same <c>Nats-Msg-Id</c>: a retry, two nodes) is stored once.</summary>
    [Range(typeof(TimeSpan), "00:02:00", "1.00:00:00")]
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Readings held for NATS while it is away; beyond this the oldest are dropped (counted).</summary>
    [Range(1024, 10_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Publish status changes on <c>….status.json.v1</c> too.</summary>
    public bool PublishStatus { get; set; } = true;

    /// <summary>How long the start waits for the server before going on without it (publishing once it comes).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);
}
