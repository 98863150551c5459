namespace Wattstream.Hub;

/// <summary>Why a reading was refused before it became an event.</summary>
public enum RejectionReason
{
    /// <summary>A new DER past one of the hub's limits (per org, per site count, hub-wide).</summary>
    DerLimit,

    /// <summary>A pushed reading that failed validation (a bad id, value or timestamp; the whole request is refused).</summary>
    Invalid,

    /// <summary>A pushed body that is not JSON, or holds no reading.</summary>
    Malformed,

    /// <summary>A pushed reading outside the caller's orgs and sites.</summary>
    OutsideScope,

    /// <summary>A pushed body over the size limit (counted as one: its readings were never read).</summary>
    TooLarge,
}

/// <summary>
/// Every refused reading, counted by reason in one place, whatever refused it (the push API, the hub's DER limits), for
/// <c>wattstream_readings_rejected_total{reason}</c>. Sources count the upstream events they skip themselves.
/// </summary>
public sealed class ReadingRejections
{
    private readonly long[] _counts = new long[Enum.GetValues<RejectionReason>().Length];

    public void Count(RejectionReason reason, long readings = 1) => Interlocked.Add(ref _counts[(int)reason], readings);

    public long this[RejectionReason reason] => Interlocked.Read(ref _counts[(int)reason]);

    public long Total => _counts.Sum(c => Interlocked.Read(ref c));

    /// <summary>The reason as a metric label: <c>der_limit</c>, <c>outside_scope</c>, …</summary>
    public static string Label(RejectionReason reason) => reason switch
    {
        RejectionReason.DerLimit => "der_limit",
        RejectionReason.Invalid => "invalid",
        RejectionReason.Malformed => "malformed",
        RejectionReason.OutsideScope => "outside_scope",
        RejectionReason.TooLarge => "too_large",
        _ => reason.ToString().ToLowerInvariant(),
    };
}
