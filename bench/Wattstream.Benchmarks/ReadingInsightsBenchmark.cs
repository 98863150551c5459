using BenchmarkDotNet.Attributes;
using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Rules;
using Wattstream.Energy.Balance;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Benchmarks;

/// <summary>
/// What alerts and energy insights add per reading, next to what the hub already pays for it once (encoding its
/// Novacore JSON for clients): judging a meter reading against the example rule set (eight rules), and a site's
/// power balance from its four DERs (what a summary does at most once a second per site).
/// </summary>
[MemoryDiagnoser]
public class ReadingInsightsBenchmark
{
    private static readonly DerAddress MeterAddress = new("demo", "site-1", "meter-1", "62124022441");
    private readonly List<AlertDraft> _output = [];
    private AlertEvaluator _evaluator = null!;
    private Reading _meter = null!;
    private Reading[] _site = null!;

    [GlobalSetup]
    public void Setup()
    {
        _meter = new Reading(MeterAddress, DerType.Meter, 1_790_000_000_000, 20,
        [
            new(Quantity.ActivePower, 1800, Unit.Watt),
            new(Quantity.VoltageL1, 230.1, Unit.Volt), new(Quantity.VoltageL2, 229.4, Unit.Volt), new(Quantity.VoltageL3, 231.0, Unit.Volt),
            new(Quantity.CurrentL1, 3.1, Unit.Ampere), new(Quantity.CurrentL2, 2.2, Unit.Ampere), new(Quantity.CurrentL3, 2.5, Unit.Ampere),
            new(Quantity.ActivePowerL1, 700, Unit.Watt), new(Quantity.ActivePowerL2, 500, Unit.Watt), new(Quantity.ActivePowerL3, 600, Unit.Watt),
            new(Quantity.EnergyImport, 13_356_215, Unit.WattHour), new(Quantity.EnergyExport, 4_315_907, Unit.WattHour),
        ]);
        _site =
        [
            _meter,
            new Reading(new DerAddress("demo", "site-1", "inv", "pv-1"), DerType.Pv, 1_790_000_000_000, 20, [new(Quantity.ActivePower, -2500, Unit.Watt), new(Quantity.RatedPower, 5000, Unit.Watt)]),
            new Reading(new DerAddress("demo", "site-1", "bms", "battery-1"), DerType.Battery, 1_790_000_000_000, 20, [new(Quantity.ActivePower, 400, Unit.Watt), new(Quantity.StateOfCharge, 0.6, Unit.Fraction)]),
            new Reading(new DerAddress("demo", "site-1", "ev", "ev-1"), DerType.V2xCharger, 1_790_000_000_000, 20, [new(Quantity.ActivePower, 0, Unit.Watt)]),
        ];
        _evaluator = new AlertEvaluator();
        _evaluator.SetRules(ExampleRules.For("demo", 47.37, 8.54).Select(r => new CompiledRule(r)), 0, _output);
        _evaluator.OnReading(_meter, 0, _output); // steady state: the rules' state exists, nothing fires
        _output.Clear();
    }

    [Benchmark(Baseline = true, Description = "encode a reading (Novacore JSON)")]
    public byte[] Encode() => NovacoreReading.ToUtf8(_meter);

    [Benchmark(Description = "judge a reading (8 example rules)")]
    public int Evaluate()
    {
        _output.Clear();
        _evaluator.OnReading(_meter, 0, _output);
        return _output.Count;
    }

    [Benchmark(Description = "a site's power balance (4 DERs)")]
    public double? Balance() => PowerBalance.Of(_site).HomeW;
}
