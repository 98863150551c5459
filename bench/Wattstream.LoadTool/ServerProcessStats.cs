using System.Globalization;

namespace Wattstream.LoadTool;

/// <summary>A server process's CPU seconds and resident memory, read from /proc while the load runs.</summary>
public sealed class ServerProcessStats(int pid)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public long PeakRssBytes { get; private set; }

    public double CpuSeconds()
    {
        // Fields 14 and 15 of /proc/pid/stat (after the command in parentheses): utime and stime in clock ticks.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    public long RssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                PeakRssBytes = Math.Max(PeakRssBytes, kb * 1024);
                return kb * 1024;
            }
        }

        return 0;
    }
}
