using System.ComponentModel.DataAnnotations;

namespace Wattstream.Storage;

public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Keep history at all. On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A PostgreSQL connection string selects PostgreSQL; without one, SQLite in <see cref="DataDirectory"/>.
    /// Prefer an environment variable (<c>Storage__PostgresConnectionString</c>) for one that holds a password.
    /// </summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Where the SQLite database lives (created on first run). Default: ~/.local/share/wattstream.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Readings older than this are deleted in the background. Default 30 days.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>At most this many readings per write.</summary>
    [Range(1, 1_000_000)]
    public int BatchSize { get; set; } = 5000;

    /// <summary>
    /// A batch is written at least this often: the most a <c>kill -9</c> can lose is what arrived within this window
    /// (plus the batch being written).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Readings waiting for the store; past it the oldest unsaved ones are dropped (and counted), never the live stream slowed.</summary>
    [Range(1, 50_000_000)]
    public int QueueCapacity { get; set; } = 500_000;

    /// <summary>How long the writer waits before trying a failed batch again (the store is down or locked).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// At shutdown, how long the writer may go on trying to store what is queued while the store is away; then it gives up,
    /// and logs how many readings (and of which time range) it abandons. Keep it below the host's shutdown timeout (30 s).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Readings of durable pushes (<c>?durable=true</c>) that may wait for the store at once, beyond the queue: a tenth of
    /// <see cref="QueueCapacity"/> (at least one). The full queue never drops one of them; a durable push past this is refused.
    /// </summary>
    public int DurableReserve => Math.Max(1, QueueCapacity / 10);

    /// <summary>
    /// How full the queue may get before <c>/readyz</c> says the hub is not ready (the next readings would be dropped): 90 %.
    /// </summary>
    public int QueueAlmostFull => (int)Math.Min(QueueCapacity, Math.Ceiling(QueueCapacity * 0.9));

    /// <summary>
    /// How long the start waits for the store to answer (PostgreSQL away, a SQLite file locked by another process),
    /// retrying with backoff, before the hub exits with the reason.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// SQLite: at start, <c>PRAGMA quick_check</c> runs for at most this long (a huge file is not checked to the end, and
    /// the log says so); 0 skips it. <c>wattstream store check</c> runs the full <c>integrity_check</c>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StartCheckTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>SQLite: how often the writer checkpoints the WAL into the database and truncates it (when no reader holds it).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A history query (and a resume's read from history) is stopped past this: a read keeps the WAL from being
    /// trimmed for as long as it runs.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// SQLite: the most the readings may take on disk (the file's used pages). Past it the oldest readings are
    /// deleted, at the retention interval, beside the time-based retention. None by default.
    /// </summary>
    [Range(typeof(long), "1048576", "9223372036854775807")]
    public long? MaxBytes { get; set; }

    public string ResolveDataDirectory() => string.IsNullOrEmpty(DataDirectory)
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "wattstream")
        : DataDirectory;

    /// <summary>The SQLite database's path.</summary>
    public string ResolveDatabasePath() => Path.Combine(ResolveDataDirectory(), DatabaseFileName);

    public const string DatabaseFileName = "wattstream.db";
}
