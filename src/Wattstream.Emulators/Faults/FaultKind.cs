namespace Wattstream.Emulators.Faults;

/// <summary>What an emulator can do wrong on purpose (<c>--faults</c>), so clients can be tested against bad devices.</summary>
public enum FaultKind
{
    /// <summary>An event whose data is not JSON.</summary>
    MalformedJson,

    /// <summary>An event with a 10 MB data line.</summary>
    HugeLine,

    /// <summary>NaN and strings in numeric fields.</summary>
    BadNumbers,

    /// <summary>An event with a name the client does not know.</summary>
    UnknownEvent,

    /// <summary>The connection is cut in the middle of an event.</summary>
    CutMidEvent,

    /// <summary>A connection attempt answered with HTTP 500.</summary>
    Http500,

    /// <summary>A connection attempt answered with HTTP 503.</summary>
    Http503,

    /// <summary>An event written a few bytes at a time, slowly.</summary>
    SlowDrip,
}

public static class FaultKinds
{
    public static string ToOptionName(this FaultKind kind) => kind switch
    {
        FaultKind.MalformedJson => "malformed-json",
        FaultKind.HugeLine => "huge-line",
        FaultKind.BadNumbers => "bad-numbers",
        FaultKind.UnknownEvent => "unknown-event",
        FaultKind.CutMidEvent => "cut",
        FaultKind.Http500 => "http-500",
        FaultKind.Http503 => "http-503",
        FaultKind.SlowDrip => "slow-drip",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static IReadOnlyList<FaultKind> All { get; } = Enum.GetValues<FaultKind>();

    /// <summary>Parses "malformed-json,cut" (or "all").</summary>
    public static FaultKind[] Parse(string? list)
    {
        if (string.IsNullOrWhiteSpace(list))
        {
            return [];
        }

        if (list.Trim() == "all")
        {
            return [.. All];
        }

        return list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => All.FirstOrDefault(k => k.ToOptionName() == name, (FaultKind)(-1)) is var k && (int)k >= 0
                ? k
                : throw new FormatException($"Unknown fault '{name}'; known: {string.Join(", ", All.Select(f => f.ToOptionName()))}, all."))
            .ToArray();
    }

    public static bool IsConnectionFault(this FaultKind kind) => kind is FaultKind.Http500 or FaultKind.Http503;
}

/// <summary>
/// Injects the configured faults in turn: connection faults on the first connection attempts (one each), stream faults
/// in place of every <c>every</c>-th event. Thread-safe.
/// </summary>
public sealed class FaultPlan(IReadOnlyList<FaultKind> faults, int every)
{
    private readonly FaultKind[] _stream = faults.Where(f => !f.IsConnectionFault()).ToArray();
    private readonly Queue<FaultKind> _connection = new(faults.Where(f => f.IsConnectionFault()));
    private long _events;
    private long _injected;

    public static FaultPlan None { get; } = new([], 1);

    public long Injected => Interlocked.Read(ref _injected);

    /// <summary>The fault for this connection attempt, if one is due.</summary>
    public FaultKind? NextConnectionFault()
    {
        lock (_connection)
        {
            if (_connection.TryDequeue(out var fault))
            {
                Interlocked.Increment(ref _injected);
                return fault;
            }

            return null;
        }
    }

    /// <summary>The fault to inject instead of the next event, if one is due.</summary>
    public FaultKind? NextEventFault()
    {
        if (_stream.Length == 0)
        {
            return null;
        }

        var n = Interlocked.Increment(ref _events);
        if (n % Math.Max(1, every) != 0)
        {
            return null;
        }

        Interlocked.Increment(ref _injected);
        return _stream[(n / Math.Max(1, every) - 1) % _stream.Length];
    }
}
