using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// The whatwatt Go's <c>GET /api/v1/report</c> body (<c>{ "report": {…}, "meter": {…}, "system": {…} }</c>), read into a
/// meter reading for devices polled instead of streamed. Read-only: the hub serves reports from its own readings.
/// </summary>
public static class WhatwattReport
{
    private static readonly (string Path, Quantity Quantity, Unit Unit)[] Paths =
    [
        ("instantaneous_power.active.positive.total", Quantity.ActivePowerImport, Unit.Kilowatt),
        ("instantaneous_power.active.positive.l1", Quantity.ActivePowerImportL1, Unit.Kilowatt),
        ("instantaneous_power.active.positive.l2", Quantity.ActivePowerImportL2, Unit.Kilowatt),
        ("instantaneous_power.active.positive.l3", Quantity.ActivePowerImportL3, Unit.Kilowatt),
        ("instantaneous_power.active.negative.total", Quantity.ActivePowerExport, Unit.Kilowatt),
        ("instantaneous_power.active.negative.l1", Quantity.ActivePowerExportL1, Unit.Kilowatt),
        ("instantaneous_power.active.negative.l2", Quantity.ActivePowerExportL2, Unit.Kilowatt),
        ("instantaneous_power.active.negative.l3", Quantity.ActivePowerExportL3, Unit.Kilowatt),
        ("instantaneous_power.reactive.positive.total", Quantity.ReactivePowerImport, Unit.Kilovar),
        ("instantaneous_power.reactive.negative.total", Quantity.ReactivePowerExport, Unit.Kilovar),
        ("voltage.l1", Quantity.VoltageL1, Unit.Volt),
        ("voltage.l2", Quantity.VoltageL2, Unit.Volt),
        ("voltage.l3", Quantity.VoltageL3, Unit.Volt),
        ("current.l1", Quantity.CurrentL1, Unit.Ampere),
        ("current.l2", Quantity.CurrentL2, Unit.Ampere),
        ("current.l3", Quantity.CurrentL3, Unit.Ampere),
        ("energy.active.positive.total", Quantity.EnergyImport, Unit.KilowattHour),
        ("energy.active.positive.t1", Quantity.EnergyImportT1, Unit.KilowattHour),
        ("energy.active.positive.t2", Quantity.EnergyImportT2, Unit.KilowattHour),
        ("energy.active.negative.total", Quantity.EnergyExport, Unit.KilowattHour),
        ("energy.active.negative.t1", Quantity.EnergyExportT1, Unit.KilowattHour),
        ("energy.active.negative.t2", Quantity.EnergyExportT2, Unit.KilowattHour),
        ("energy.reactive.positive.total", Quantity.ReactiveEnergyImport, Unit.KilovarHour),
        ("energy.reactive.negative.total", Quantity.ReactiveEnergyExport, Unit.KilovarHour),
        ("max_demand.active.positive.total", Quantity.MaxDemandImport, Unit.Kilowatt),
        ("power_factor", Quantity.PowerFactor, Unit.None),
        ("tariff", Quantity.ActiveTariff, Unit.None),
    ];

    /// <summary>
    /// Converts a report. Its time is <c>report.date_time_utc</c> when present, else <paramref name="fallbackTimestamp"/>.
    /// A meter whose <c>meter.status</c> is not <c>OK</c> has no trustworthy values: that is an error too.
    /// </summary>
    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der, long fallbackTimestamp)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw TelemetryFormatException.Malformed(e);
        }

        if (root?["report"] is not JsonObject report)
        {
            throw new TelemetryFormatException("'report' is missing");
        }

        if (root["meter"]?["status"] is JsonValue status && status.TryGetValue<string>(out var s) && s != "OK")
        {
            throw new TelemetryFormatException($"the meter status is '{s}', not OK: its values are not trustworthy");
        }

        var measurements = new List<Measurement>(Paths.Length);
        var errors = new List<string>();
        foreach (var (path, quantity, unit) in Paths)
        {
            var node = path.Split('.').Aggregate<string, JsonNode?>(report, (n, key) => n?[key]);
            if (node is null)
            {
                continue;
            }

            if (node is JsonValue value && value.TryGetValue<double>(out var d) && double.IsFinite(d))
            {
                measurements.Add(new Measurement(quantity, d, unit));
            }
            else
            {
                errors.Add($"'report.{path}' must be a finite number");
            }
        }

        TelemetryFormatException.ThrowIfAny(errors);

        var timestamp = report["date_time_utc"] is JsonValue utc && utc.TryGetValue<string>(out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t.ToUnixTimeMilliseconds()
                : fallbackTimestamp;
        return new Reading(der, DerType.Meter, timestamp, null, measurements);
    }
}
