using System.ComponentModel.DataAnnotations;

namespace Wattstream.Nats;

/// <summary>The hub's NATS link (section <c>Nats</c>). Without <see cref="Url"/> nothing of NATS runs.</summary>
public sealed class NatsOptions : IValidatableObject
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

    /// <summary>
    /// How many nats-servers keep the stream (JetStream replicas). 1 on a single server; 3 on a cluster of three, so the
    /// stream survives the loss of one server with nothing acknowledged lost (a reading is acknowledged once a majority has it).
    /// </summary>
    [Range(1, 5)]
    public int Replicas { get; set; } = 1;

    /// <summary>Readings held for NATS while it is away; beyond this the oldest are dropped (counted).</summary>
    [Range(1024, 10_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Publish status changes on <c>….status.json.v1</c> too.</summary>
    public bool PublishStatus { get; set; } = true;

    /// <summary>How long the start waits for the server before going on without it (publishing once it comes).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Several hub nodes as one service: JetStream is the log and every node a fan-out cache of it (docs/scaling.md).
    /// Readings made on a node go to the stream first; every node's hub takes its events from the stream, with the
    /// stream sequence as event id, so a client can resume on any node.
    /// </summary>
    public bool Cluster { get; set; }

    /// <summary>This node's name in NATS (connection names, the origin header); unique per process when not set.</summary>
    [RegularExpression("^[A-Za-z0-9_.-]{1,64}$")]
    public string? NodeId { get; set; }

    /// <summary>In cluster mode, how many readings may wait for JetStream's acknowledgement at once.</summary>
    [Range(1, 4096)]
    public int MaxPendingAcks { get; set; } = 256;

    /// <summary>
    /// In cluster mode, how long a node's heartbeat and its job leases live unrenewed: a killed node's jobs move to
    /// other nodes within about this time; renewals go out every third of it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    /// <summary>The hub's own credentials, for every connection it makes (never logged).</summary>
    public NatsCredentials Credentials => new(User, Password, Token, CredsFile, NKeySeedFile);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Cluster && !Enabled)
        {
            yield return new ValidationResult("Nats:Cluster needs Nats:Url: the nodes of a cluster share a JetStream stream.", [nameof(Cluster)]);
        }
    }

    /// <summary>The node's name: <see cref="NodeId"/>, or one made up for this process and these options.</summary>
    public string Node => NodeId ??= $"{Environment.MachineName}-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
}
