using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Wattstream.LoadTool;

/// <summary>Medians with min–max over repeated runs, one table per scenario, with ratios against every peer.</summary>
internal static class Report
{
    private static readonly string[] Peers = ["signalr", "node-ws", "nats"];

    public static JsonElement[] Runs(IEnumerable<string> lines) =>
        lines.Where(l => l.StartsWith('{')).Select(l => JsonSerializer.Deserialize<JsonElement>(l)).ToArray();

    public static string Markdown(IEnumerable<string> lines)
    {
        var runs = Runs(lines);
        var sb = new StringBuilder();
        if (runs.Any(ClientBound))
        {
            sb.AppendLine(ClientBoundNote).AppendLine();
        }

        var a = runs.Where(r => Scenario(r) is "a" or "a-half").ToArray();
        if (a.Length > 0)
        {
            sb.AppendLine("Scenario (a): every client subscribed to one meter; publisher at max rate, then at half of Wattstream SSE's max (one reading per request, evenly spaced).").AppendLine();
            sb.AppendLine("| clients | publish rate | target | runs | delivered msgs/s, median (min–max) | × SignalR | × ws | × NATS | p50 µs | p99 µs | p99.9 µs | lost | server CPU s | peak RSS MB |");
            sb.AppendLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(a, r => (Clients(r), Rate(r), Batch(r))))
            {
                var rate = Values(g.Runs, "DeliveredPerSecond");
                var publish = g.Key.Item2 == 0 ? $"max ({g.Key.Item3}/request)" : $"{g.Key.Item2}/s";
                var ratios = string.Join(" | ", Peers.Select(peer => Ratio(Median(rate), a.Where(r => Target(r) == peer && (Clients(r), Rate(r), Batch(r)) == g.Key))));
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Item1} | {publish} | {g.Target} | {g.Runs.Length} | {Spread(rate)} | {ratios} | {Micros(g.Runs, "P50Micros")} | {Micros(g.Runs, "P99Micros")} | {Micros(g.Runs, "P999Micros")} | {Median(Values(g.Runs, "Lost")):N0} | {Median(Values(g.Runs, "ServerCpuSeconds")):0.0} | {Median(Values(g.Runs, "ServerPeakRssBytes")) / 1048576:0} |");
            }

            sb.AppendLine();
        }

        var b = runs.Where(r => Scenario(r) == "b").ToArray();
        if (b.Length > 0)
        {
            sb.AppendLine("Scenario (b): meters at 1 reading/s each, spread over sites; every client subscribed to one site. The rate is fixed, so compare server CPU per delivered message and latency.").AppendLine();
            sb.AppendLine("| clients | meters / sites | target | runs | delivered msgs/s | server CPU µs per message, median (min–max) | × SignalR | × ws | × NATS | p50 µs | p99 µs | p99.9 µs | lost |");
            sb.AppendLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(b, SitesKey))
            {
                var cost = g.Runs.Select(CpuMicrosPerMessage).ToArray();
                // Ratios of the peer's cost to ours: above 1 means Wattstream spends less CPU per message.
                var ratios = string.Join(" | ", Peers.Select(peer =>
                {
                    var theirs = b.Where(r => Target(r) == peer && SitesKey(r) == g.Key).Select(CpuMicrosPerMessage).ToArray();
                    return theirs.Length == 0 || Median(cost) <= 0 ? "–" : (Median(theirs) / Median(cost)).ToString("0.00", CultureInfo.InvariantCulture);
                }));
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Item1} | {g.Key.Item2} / {g.Key.Item3} | {g.Target} | {g.Runs.Length} | {Median(Values(g.Runs, "DeliveredPerSecond")):N0} | {Median(cost):0.00} ({cost.Min():0.00}–{cost.Max():0.00}) | {ratios} | {Micros(g.Runs, "P50Micros")} | {Micros(g.Runs, "P99Micros")} | {Micros(g.Runs, "P999Micros")} | {Median(Values(g.Runs, "Lost")):N0} |");
            }

            sb.AppendLine().AppendLine("(× peer here is the peer's CPU per message divided by this row's: above 1, this row costs less.)").AppendLine();
        }

        var l = runs.Where(r => Scenario(r) == "l").ToArray();
        if (l.Length > 0)
        {
            sb.AppendLine("Latency (l): a fixed, realistic delivered rate (20 000 messages/s to 1 000 clients) at which no process should be saturated, in two shapes: one meter at 20 readings/s to every client (each reading a burst of 1 000 sends), and 1 000 meters on 100 sites at 2 readings/s each, ten clients a site (bursts of 10). Latency from the publish time in the payload to each client's receipt.").AppendLine();
            sb.AppendLine("| clients | meters / sites | publish rate | target | runs | delivered msgs/s | p50 µs | p99 µs | p99.9 µs | p99 µs outside the tool's pauses | lost | server CPU, share of a core | load tool CPU, share of a core | tool GC pauses |");
            sb.AppendLine("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(l, r => (Clients(r), Rate(r), r.GetProperty("Meters").GetInt32(), r.GetProperty("Sites").GetInt32())))
            {
                var serverShare = g.Runs.Select(r => r.GetProperty("ServerCpuSeconds").GetDouble() / Math.Max(1e-9, r.GetProperty("Seconds").GetDouble() + 1)).ToArray();
                var clientShare = g.Runs.Select(r => r.TryGetProperty("ClientCoreShare", out var s) ? s.GetDouble() : double.NaN).ToArray();
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Item1} | {g.Key.Item3} / {g.Key.Item4} | {g.Key.Item2}/s | {g.Target} | {g.Runs.Length} | {Median(Values(g.Runs, "DeliveredPerSecond")):N0} | {Micros(g.Runs, "P50Micros")} | {Micros(g.Runs, "P99Micros")} | {Micros(g.Runs, "P999Micros")} | {Micros(g.Runs, "P99MicrosOutsidePauses")} | {Median(Values(g.Runs, "Lost")):N0} | {Median(serverShare):P0} | {Median(clientShare):P0} | {ToolPauses(g.Runs)} |");
            }

            sb.AppendLine().AppendLine(PausesNote).AppendLine();
        }

        var c = runs.Where(r => Scenario(r) == "c").ToArray();
        if (c.Length > 0)
        {
            sb.AppendLine("Scenario (c): idle connections; server memory per connection ((RSS connected − RSS before) ÷ N), again after idling (Kestrel's memory pool gives blocks back over time), and connection set-up rate.").AppendLine();
            sb.AppendLine("| clients | target | runs | RSS per connection KB, median (min–max) | after idling, KB | connections/s | peak RSS MB |");
            sb.AppendLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(c, Clients))
            {
                var kb = Values(g.Runs, "RssPerConnectionBytes").Select(v => v / 1024).ToArray();
                var idled = g.Runs.Where(r => r.TryGetProperty("RssPerConnectionAfterIdleBytes", out var v) && v.GetDouble() > 0).ToArray();
                var idleKb = Values(idled, "RssPerConnectionAfterIdleBytes").Select(v => v / 1024).ToArray();
                var afterIdle = idled.Length == 0 ? "–" : $"{Median(idleKb):0.0} ({idleKb.Min():0.0}–{idleKb.Max():0.0}) after {Median(Values(idled, "IdleSeconds")):0} s";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key} | {g.Target} | {g.Runs.Length} | {Median(kb):0.0} ({kb.Min():0.0}–{kb.Max():0.0}) | {afterIdle} | {Median(Values(g.Runs, "ConnectionsPerSecond")):N0} | {Median(Values(g.Runs, "ServerPeakRssBytes")) / 1048576:0} |");
            }

            sb.AppendLine();
        }

        var e = runs.Where(r => Scenario(r) == "e").ToArray();
        if (e.Length > 0)
        {
            sb.AppendLine("Scenario (e): a city district on one box. Every site one meter reporting every 10 s, ten clients per site, each on one site; every reading to every client. Targets at 100 000 connections: RSS under 1.5 GB, no loss, p99 ≤ 50 ms, server CPU under one core.").AppendLine();
            sb.AppendLine("| connections | sites | target | runs | connections/s | peak RSS MB | RSS per connection KB | server CPU, share of a core | delivered msgs/s | p50 µs | p99 µs | p99.9 µs | p99 µs outside the tool's pauses | lost | load tool CPU, share of a core | tool GC pauses |");
            sb.AppendLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(e, r => (Clients(r), r.GetProperty("Sites").GetInt32())))
            {
                var serverShare = g.Runs.Select(r => r.GetProperty("ServerCpuSeconds").GetDouble() / Math.Max(1e-9, r.GetProperty("Seconds").GetDouble() + 1)).ToArray();
                var clientShare = g.Runs.Select(r => r.TryGetProperty("ClientCoreShare", out var x) ? x.GetDouble() : double.NaN).ToArray();
                var kb = Values(g.Runs, "RssPerConnectionBytes").Select(v => v / 1024).ToArray();
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Item1:N0} | {g.Key.Item2:N0} | {g.Target} | {g.Runs.Length} | {Median(Values(g.Runs, "ConnectionsPerSecond")):N0} | {Median(Values(g.Runs, "ServerPeakRssBytes")) / 1048576:0} | {Median(kb):0.0} | {Median(serverShare):P0} | {Median(Values(g.Runs, "DeliveredPerSecond")):N0} | {Micros(g.Runs, "P50Micros")} | {Micros(g.Runs, "P99Micros")} | {Micros(g.Runs, "P999Micros")} | {Micros(g.Runs, "P99MicrosOutsidePauses")} | {Median(Values(g.Runs, "Lost")):N0} | {Median(clientShare):P0} | {ToolPauses(g.Runs)} |");
            }

            sb.AppendLine().AppendLine(PausesNote).AppendLine();
        }

        var f = runs.Where(r => Scenario(r) == "f").ToArray();
        if (f.Length > 0)
        {
            sb.AppendLine("Scenario (f): end to end. Emulated whatwatt devices (one server, a device per port, Digest authentication, a reading each whole second, sent on the second or spread over it) read by the hub through their SSE streams, stored in SQLite and fanned out; latency from the device's send (the reading's own time, plus the device's offset when spread) to each client's receipt.").AppendLine();
            sb.AppendLine("| devices | devices send | clients | target | runs | ingested readings/s | delivered msgs/s | server CPU µs per ingested reading | server CPU µs per delivered message | server CPU, share of a core | p50 µs | p99 µs | p99.9 µs | p99 µs outside the tool's pauses | lost | peak RSS MB | tool GC pauses |");
            sb.AppendLine("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(f, r => (r.GetProperty("Meters").GetInt32(), Spread(r), Clients(r))))
            {
                var perReading = g.Runs.Select(r => r.GetProperty("ServerCpuSeconds").GetDouble() * 1e6 / Math.Max(1, r.GetProperty("Published").GetDouble())).ToArray();
                var share = g.Runs.Select(r => r.GetProperty("ServerCpuSeconds").GetDouble() / Math.Max(1e-9, r.GetProperty("Seconds").GetDouble())).ToArray();
                var ingested = g.Runs.Select(r => r.GetProperty("Published").GetDouble() / Math.Max(1e-9, r.GetProperty("Seconds").GetDouble())).ToArray();
                var sends = g.Key.Item2 == 0 ? "on the second" : $"over {g.Key.Item2} ms";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Item1:N0} | {sends} | {g.Key.Item3:N0} | {g.Target} | {g.Runs.Length} | {Median(ingested):N0} | {Median(Values(g.Runs, "DeliveredPerSecond")):N0} | {Median(perReading):0.0} | {Median(g.Runs.Select(CpuMicrosPerMessage)):0.00} | {Median(share):P0} | {Micros(g.Runs, "P50Micros")} | {Micros(g.Runs, "P99Micros")} | {Micros(g.Runs, "P999Micros")} | {Micros(g.Runs, "P99MicrosOutsidePauses")} | {Median(Values(g.Runs, "Lost")):N0} | {Median(Values(g.Runs, "ServerPeakRssBytes")) / 1048576:0} | {ToolPauses(g.Runs)} |");
            }

            sb.AppendLine().AppendLine(PausesNote).AppendLine();
        }

        var d = runs.Where(r => Scenario(r) == "d").ToArray();
        if (d.Length > 0)
        {
            sb.AppendLine("Scenario (d): every client drops its connection at once and reconnects with Last-Event-ID while readings keep coming; lost and duplicated readings over the whole run.").AppendLine();
            sb.AppendLine("| clients | publish rate | target | runs | all reconnected in s, median (min–max) | reconnects/s | lost | duplicates | p99 µs | server CPU s | peak RSS MB |");
            sb.AppendLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var g in Groups(d, r => (Clients(r), Rate(r))))
            {
                var s = Values(g.Runs, "ReconnectSeconds");
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Item1} | {g.Key.Item2}/s | {g.Target} | {g.Runs.Length} | {Median(s):0.00} ({s.Min():0.00}–{s.Max():0.00}) | {g.Key.Item1 / Math.Max(Median(s), 1e-9):N0} | {Median(Values(g.Runs, "Lost")):N0} | {Median(Values(g.Runs, "Duplicates")):N0} | {Micros(g.Runs, "P99Micros")} | {Median(Values(g.Runs, "ServerCpuSeconds")):0.0} | {Median(Values(g.Runs, "ServerPeakRssBytes")) / 1048576:0} |");
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    public static int HalfRate(IEnumerable<string> lines, int clients)
    {
        var rates = Runs(lines)
            .Where(r => Scenario(r) == "a" && Target(r) == "wattstream-sse" && Clients(r) == clients && Rate(r) == 0)
            .Select(r => r.GetProperty("Published").GetDouble() / r.GetProperty("Seconds").GetDouble());
        return Math.Max(1, (int)(Median(rates) / 2));
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static IEnumerable<(TKey Key, string Target, JsonElement[] Runs)> Groups<TKey>(JsonElement[] runs, Func<JsonElement, TKey> key) =>
        runs.GroupBy(r => (Key: key(r), Target: Target(r)))
            .OrderBy(g => g.Key.Key)
            .ThenBy(g => g.Key.Target, StringComparer.Ordinal)
            .Select(g => (g.Key.Key, g.Key.Target, g.ToArray()));

    private static string Scenario(JsonElement r) => r.TryGetProperty("Scenario", out var s) ? s.GetString()! : "a";

    private static string Target(JsonElement r) => r.GetProperty("Target").GetString()!;

    private static int Clients(JsonElement r) => r.GetProperty("Clients").GetInt32();

    private static int Rate(JsonElement r) => r.GetProperty("RequestedRate").GetInt32();

    private static int Spread(JsonElement r) => r.TryGetProperty("DeviceSpreadMs", out var x) ? x.GetInt32() : 0;

    private static (int Clients, int Meters, int Sites) SitesKey(JsonElement r) => (Clients(r), r.GetProperty("Meters").GetInt32(), r.GetProperty("Sites").GetInt32());

    private static int Batch(JsonElement r) => r.GetProperty("Batch").GetInt32();

    private static double CpuMicrosPerMessage(JsonElement r) =>
        r.GetProperty("ServerCpuSeconds").GetDouble() * 1e6 / Math.Max(1, r.GetProperty("Received").GetDouble());

    private static double[] Values(JsonElement[] runs, string name) => runs.Select(r => r.GetProperty(name).GetDouble()).ToArray();

    private static string Spread(double[] values) => $"{Median(values):N0} ({values.Min():N0}–{values.Max():N0})";

    private static string Ratio(double ours, IEnumerable<JsonElement> peer)
    {
        var theirs = Median(peer.Select(r => r.GetProperty("DeliveredPerSecond").GetDouble()));
        return theirs > 0 ? (ours / theirs).ToString("0.00", CultureInfo.InvariantCulture) : "–";
    }

    // The median, and with several runs their min–max: latency moves most from run to run on this machine.
    private static string Micros(JsonElement[] runs, string name)
    {
        var values = runs.Where(r => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number).Select(r => r.GetProperty(name).GetDouble()).ToArray();
        if (values.Length == 0)
        {
            return "–";
        }

        static string Us(double us) => us >= 1_000_000 ? "> 1 s" : us.ToString("N0", CultureInfo.InvariantCulture);
        var text = values.Length == 1 ? Us(values[0]) : $"{Us(Median(values))} ({Us(values.Min())}–{Us(values.Max())})";
        return runs.Any(ClientBound) ? text + " ‡" : text;
    }

    // The load tool's own GC pauses in the window: how many, and their total ms (medians over the runs).
    private static string ToolPauses(JsonElement[] runs)
    {
        var withCount = runs.Where(r => r.TryGetProperty("ClientGcPauses", out _)).ToArray();
        var ms = runs.Where(r => r.TryGetProperty("ClientGcPauseSeconds", out _)).Select(r => r.GetProperty("ClientGcPauseSeconds").GetDouble() * 1000).ToArray();
        return ms.Length == 0 ? "–" : withCount.Length == 0 ? $"{Median(ms):0} ms" : $"{Median(Values(withCount, "ClientGcPauses")):0}, {Median(ms):0} ms";
    }

    private const string PausesNote = "\"outside the tool's pauses\": the percentiles without the messages whose way from publish to receipt overlapped one of the load tool's own GC pauses (it reads nothing meanwhile); \"tool GC pauses\": how many it had in the window and their total.";

    /// <summary>A run whose load generator was the bottleneck (older result lines, without the field, are not marked).</summary>
    private static bool ClientBound(JsonElement r) => r.TryGetProperty("ClientBound", out var bound) && bound.GetBoolean();

    private const string ClientBoundNote = "‡ in at least one run the load generator used more than 80 % of a core: the latency is the client's as much as the server's.";
}
