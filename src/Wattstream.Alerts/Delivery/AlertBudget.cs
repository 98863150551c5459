using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Wattstream.Alerts.Delivery;

/// <summary>
/// How many alerts each org may raise per minute (<see cref="AlertsOptions.MaxAlertsPerMinutePerOrg"/>): a counter per
/// org in fixed one-minute windows of the hub's clock. An alert past it is not raised; it is counted, and the first one
/// of an org's window is logged once. A check is a dictionary lookup and an increment under a lock no reading waits on.
/// </summary>
public sealed class AlertBudget(IOptions<AlertsOptions> options, ILogger<AlertBudget> logger)
{
    private const long WindowMs = 60_000;

    private readonly int _perMinute = options.Value.MaxAlertsPerMinutePerOrg;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, OrgWindow> _orgs = new(StringComparer.Ordinal);

    public int PerMinute => _perMinute;

    /// <summary>True when <paramref name="org"/> may raise one more alert at <paramref name="now"/> (epoch ms, the hub's clock), and counts it.</summary>
    public bool TryTake(string org, long now)
    {
        ArgumentNullException.ThrowIfNull(org);
        var window = now / WindowMs;
        bool warn;
        lock (_gate)
        {
            if (!_orgs.TryGetValue(org, out var counts))
            {
                _orgs[org] = counts = new OrgWindow();
            }

            if (counts.Window != window)
            {
                counts.Window = window;
                counts.Used = 0;
                counts.Warned = false;
            }

            if (counts.Used < _perMinute)
            {
                counts.Used++;
                return true;
            }

            counts.Suppressed++;
            warn = !counts.Warned;
            counts.Warned = true;
        }

        if (warn)
        {
            logger.LogWarning(
                "Org {Org} raised {Budget} alerts this minute (Alerts:MaxAlertsPerMinutePerOrg): its further alerts are not raised until the minute is over, only counted (wattstream_alerts_budget_suppressed_total)",
                org,
                _perMinute);
        }

        return false;
    }

    /// <summary>Seconds until <paramref name="now"/>'s window ends, for a <c>Retry-After</c>.</summary>
    public static int SecondsLeft(long now) => (int)((WindowMs - (now % WindowMs) + 999) / 1000);

    /// <summary>Alerts of <paramref name="org"/> not raised because it was over budget, since start.</summary>
    public long Suppressed(string org)
    {
        lock (_gate)
        {
            return _orgs.TryGetValue(org, out var counts) ? counts.Suppressed : 0;
        }
    }

    /// <summary>Every org that ever went over budget, with how many alerts it lost.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> SuppressedByOrg()
    {
        lock (_gate)
        {
            return [.. _orgs.Where(o => o.Value.Suppressed > 0).Select(o => KeyValuePair.Create(o.Key, o.Value.Suppressed))];
        }
    }

    private sealed class OrgWindow
    {
        public long Window { get; set; } = -1;

        public int Used { get; set; }

        public long Suppressed { get; set; }

        public bool Warned { get; set; }
    }
}
