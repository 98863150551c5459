using System.Text.Json;
using ScottPlot;

namespace Wattstream.LoadTool;

/// <summary>Scenario (a) as a picture: delivered messages/s at max rate and p99 latency at half rate, by client count, per target.</summary>
internal static class Chart
{
    public static void Draw(IEnumerable<string> lines, string path)
    {
        var runs = Report.Runs(lines).Where(r => r.GetProperty("Scenario").GetString() is "a" or "a-half").ToArray();
        var targets = runs.Select(r => r.GetProperty("Target").GetString()!).Distinct().Order(StringComparer.Ordinal).ToArray();
        var counts = runs.Select(r => r.GetProperty("Clients").GetInt32()).Distinct().Order().ToArray();

        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Panel(multiplot.GetPlot(0), "a", "DeliveredPerSecond", 1, "delivered messages/s at max publish rate (higher is better)");
        Panel(multiplot.GetPlot(1), "a-half", "P99Micros", 1e-3, "p99 latency in ms at half of Wattstream SSE's max rate (lower is better; capped at 1 s)", cap: 1000);
        multiplot.SavePng(path, 1100, 900);

        void Panel(Plot plot, string scenario, string field, double scale, string title, double cap = double.MaxValue)
        {
            var width = 1.0 / (targets.Length + 1);
            for (var t = 0; t < targets.Length; t++)
            {
                var bars = new List<Bar>();
                for (var c = 0; c < counts.Length; c++)
                {
                    var values = runs.Where(r => r.GetProperty("Scenario").GetString() == scenario && r.GetProperty("Target").GetString() == targets[t] && r.GetProperty("Clients").GetInt32() == counts[c])
                        .Select(r => Math.Min(r.GetProperty(field).GetDouble() * scale, cap)).ToArray();
                    if (values.Length > 0)
                    {
                        bars.Add(new Bar { Position = c + ((t + 0.5) * width), Value = Report.Median(values), ValueBase = 0, Size = width * 0.9, FillColor = Colors.Category10[t % 10] });
                    }
                }

                var series = plot.Add.Bars(bars);
                series.LegendText = targets[t];
            }

            plot.Axes.Bottom.SetTicks(counts.Select((_, c) => c + 0.5 - (width / 2)).ToArray(), counts.Select(n => $"{n} clients").ToArray());
            plot.Axes.Margins(bottom: 0);
            plot.Title(title);
            plot.ShowLegend(Alignment.UpperLeft);
        }
    }
}
