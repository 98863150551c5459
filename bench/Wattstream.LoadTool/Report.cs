using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Wattstream.LoadTool;

/// <summary>Medians with min–max over repeated runs, per target and client count.</summary>
internal static class Report
{
    public static string Markdown(IEnumerable<string> lines)
    {
        var runs = lines.Where(l => l.StartsWith('{')).Select(l => JsonSerializer.Deserialize<JsonElement>(l)).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine("| clients | publish rate | target | runs | delivered msgs/s, median (min–max) | × SignalR | p50 µs | p99 µs | p99.9 µs | lost | server CPU s | peak RSS MB | RSS per connection KB |");
        sb.AppendLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        static (int Clients, int Rate) Key(JsonElement r) => (r.GetProperty("Clients").GetInt32(), r.GetProperty("RequestedRate").GetInt32());
        var signalr = runs.Where(r => r.GetProperty("Target").GetString() == "signalr")
            .GroupBy(Key)
            .ToDictionary(g => g.Key, g => Median(g.Select(r => r.GetProperty("DeliveredPerSecond").GetDouble())));
        foreach (var group in runs.GroupBy(r => (Key: Key(r), Target: r.GetProperty("Target").GetString()!)).OrderBy(g => g.Key.Key.Clients).ThenBy(g => g.Key.Key.Rate).ThenBy(g => g.Key.Target, StringComparer.Ordinal))
        {
            double[] Values(string name) => group.Select(r => r.GetProperty(name).GetDouble()).ToArray();
            var rate = Values("DeliveredPerSecond");
            var ratio = signalr.TryGetValue(group.Key.Key, out var sr) && sr > 0 ? (Median(rate) / sr).ToString("0.00", CultureInfo.InvariantCulture) : "–";
            var publish = group.Key.Key.Rate == 0 ? "max" : $"{group.Key.Key.Rate}/s";
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {group.Key.Key.Clients} | {publish} | {group.Key.Target} | {group.Count()} | {Median(rate):N0} ({rate.Min():N0}–{rate.Max():N0}) | {ratio} | {Micros(Median(Values("P50Micros")))} | {Micros(Median(Values("P99Micros")))} | {Micros(Median(Values("P999Micros")))} | {Median(Values("Lost")):N0} | {Median(Values("ServerCpuSeconds")):0.0} | {Median(Values("ServerPeakRssBytes")) / 1048576:0} | {Median(Values("RssPerConnectionBytes")) / 1024:0.0} |");
        }

        return sb.ToString();
    }

    public static int HalfRate(IEnumerable<string> lines, int clients)
    {
        var rates = lines.Where(l => l.StartsWith('{')).Select(l => JsonSerializer.Deserialize<JsonElement>(l))
            .Where(r => r.GetProperty("Target").GetString() == "wattstream-sse" && r.GetProperty("Clients").GetInt32() == clients && r.GetProperty("RequestedRate").GetInt32() == 0)
            .Select(r => r.GetProperty("Published").GetDouble() / r.GetProperty("Seconds").GetDouble());
        return Math.Max(1, (int)(Median(rates) / 2));
    }

    private static string Micros(double us) => us >= 1_000_000 ? "> 1 s" : us.ToString("N0", CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
