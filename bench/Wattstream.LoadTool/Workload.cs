using System.Globalization;
using System.Text;

namespace Wattstream.LoadTool;

/// <summary>
/// What is published: meter readings of about the seed's whatwatt live payload (~560 bytes) rotating over
/// <see cref="Meters"/> meters spread over <see cref="Sites"/> sites (meter m belongs to site m mod sites).
/// Scenario (a) is one meter on one site; scenario (b) is 1 000 meters at 1 reading/s on several sites.
/// </summary>
internal sealed record Workload(int Sites, int Meters)
{
    /// <summary>What the site names begin with: several load processes against one cluster each use their own sites, so none counts another's readings.</summary>
    public string SitePrefix { get; init; } = "bench";

    // Timestamps start at this run's start, so a second run against the same hub is not taken for duplicates.
    private static readonly long RunStartMilliseconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public string SiteName(int site) => Sites == 1 ? SitePrefix : $"{SitePrefix}-{site}";

    /// <summary>The site of one of <see cref="Reading(long, bool)"/>'s lines (for transports that route by site).</summary>
    public static string SiteIn(string line)
    {
        const string Key = "\"site\":\"";
        var start = line.IndexOf(Key, StringComparison.Ordinal) + Key.Length;
        return line[start..line.IndexOf('"', start)];
    }

    public int SiteOf(long sequence) => (int)(sequence % Meters % Sites);

    /// <summary>Reading number <paramref name="seq"/> (its meter is seq mod meters) as one NDJSON line.</summary>
    public string Reading(long seq, bool timed) => Reading(SiteOf(seq), seq, timed, (int)(seq % Meters));

    public string Reading(int site, long seq, bool timed, int meter = 0)
    {
        var sb = new StringBuilder(640);
        var der = Meters == 1 ? "meter" : $"meter-{meter}";
        // The sequence and publish time (UTC ticks) go last; untimed readings (warm-up, priming) carry no "pub" and are
        // neither counted nor timed by the clients.
        sb.Append(CultureInfo.InvariantCulture,
            $$"""{"org":"bench","site":"{{SiteName(site)}}","device":"gw","der":"{{der}}","type":"meter","timestamp":{{RunStartMilliseconds + seq}},"read_time_ms":20,"W":1234.5,"Hz":50.01,"L1_V":230.1,"L1_A":5.21,"L1_W":1200.5,"L2_V":229.8,"L2_A":0.12,"L2_W":20.25,"L3_V":230.4,"L3_A":0.07,"L3_W":14.5,"total_import_Wh":47251000,"total_export_Wh":8965000,"make":"bench","note":"fan-out benchmark payload padded to the size of a whatwatt live event with its many registers","firmware":"1.10.0","meter_id":"62124022443","seq":{{seq}}""");
        if (timed)
        {
            sb.Append(CultureInfo.InvariantCulture, $",\"pub\":{DateTime.UtcNow.Ticks}");
        }

        return sb.Append("}\n").ToString();
    }
}
