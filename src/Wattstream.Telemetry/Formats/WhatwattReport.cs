using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// The whatwatt Go's <c>GET /api/v1/report</c> body (<c>{ "report": {…}, "meter": {…}, "system": {…} }</c>): read into a
/// meter reading for devices polled instead of streamed, and its <c>report</c> object written from a reading (the hub
/// and the device emulator both serve it).
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

    /// <summary>
    /// The <c>report</c> object of a meter reading: <paramref name="id"/> is the report counter, <paramref name="interval"/>
    /// the reporting interval. Members the reading lacks are left out, and objects left empty by that.
    /// </summary>
    public static JsonObject ToReportObject(Reading r, long id, TimeSpan? interval, TimeZoneInfo? localTime = null)
    {
        ArgumentNullException.ThrowIfNull(r);
        var local = TimeZoneInfo.ConvertTime(r.Time, localTime ?? TimeZoneInfo.Local);
        var report = new JsonObject
        {
            ["id"] = id,
            ["interval"] = interval is { } i ? Math.Round(i.TotalSeconds, 3) : null,
            ["tariff"] = Value(r, Quantity.ActiveTariff, Unit.None),
            ["date_time"] = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
            ["date_time_local"] = local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            ["date_time_utc"] = r.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["instantaneous_power"] = Prune(new JsonObject
            {
                ["active"] = Prune(new JsonObject
                {
                    ["positive"] = Phases(r, Unit.Kilowatt, Quantity.ActivePowerImport, Quantity.ActivePowerImportL1, Quantity.ActivePowerImportL2, Quantity.ActivePowerImportL3),
                    ["negative"] = Phases(r, Unit.Kilowatt, Quantity.ActivePowerExport, Quantity.ActivePowerExportL1, Quantity.ActivePowerExportL2, Quantity.ActivePowerExportL3),
                }),
                ["reactive"] = Prune(new JsonObject
                {
                    ["positive"] = Phases(r, Unit.Kilovar, Quantity.ReactivePowerImport, Quantity.ReactivePowerImportL1, Quantity.ReactivePowerImportL2, Quantity.ReactivePowerImportL3),
                    ["negative"] = Phases(r, Unit.Kilovar, Quantity.ReactivePowerExport, Quantity.ReactivePowerExportL1, Quantity.ReactivePowerExportL2, Quantity.ReactivePowerExportL3),
                }),
                ["apparent"] = Prune(new JsonObject { ["total"] = Apparent(r) }),
            }),
            ["voltage"] = Prune(new JsonObject
            {
                ["l1"] = Value(r, Quantity.VoltageL1, Unit.Volt),
                ["l2"] = Value(r, Quantity.VoltageL2, Unit.Volt),
                ["l3"] = Value(r, Quantity.VoltageL3, Unit.Volt),
            }),
            ["current"] = Prune(new JsonObject
            {
                ["l1"] = Value(r, Quantity.CurrentL1, Unit.Ampere),
                ["l2"] = Value(r, Quantity.CurrentL2, Unit.Ampere),
                ["l3"] = Value(r, Quantity.CurrentL3, Unit.Ampere),
            }),
            ["energy"] = Prune(new JsonObject
            {
                ["active"] = Prune(new JsonObject
                {
                    ["positive"] = Tariffs(r, Unit.KilowattHour, Quantity.EnergyImport, Quantity.EnergyImportT1, Quantity.EnergyImportT2),
                    ["negative"] = Tariffs(r, Unit.KilowattHour, Quantity.EnergyExport, Quantity.EnergyExportT1, Quantity.EnergyExportT2),
                }),
                ["reactive"] = Prune(new JsonObject
                {
                    ["positive"] = Prune(new JsonObject { ["total"] = Value(r, Quantity.ReactiveEnergyImport, Unit.KilovarHour) }),
                    ["negative"] = Prune(new JsonObject { ["total"] = Value(r, Quantity.ReactiveEnergyExport, Unit.KilovarHour) }),
                    ["imported"] = Prune(new JsonObject
                    {
                        ["inductive"] = Prune(new JsonObject { ["total"] = Value(r, Quantity.ReactiveEnergyImportedInductive, Unit.KilovarHour) }),
                        ["capacitive"] = Prune(new JsonObject { ["total"] = Value(r, Quantity.ReactiveEnergyImportedCapacitive, Unit.KilovarHour) }),
                    }),
                    ["exported"] = Prune(new JsonObject
                    {
                        ["inductive"] = Prune(new JsonObject { ["total"] = Value(r, Quantity.ReactiveEnergyExportedInductive, Unit.KilovarHour) }),
                        ["capacitive"] = Prune(new JsonObject { ["total"] = Value(r, Quantity.ReactiveEnergyExportedCapacitive, Unit.KilovarHour) }),
                    }),
                }),
            }),
            ["max_demand"] = Prune(new JsonObject
            {
                ["active"] = Prune(new JsonObject
                {
                    ["positive"] = Tariffs(r, Unit.Kilowatt, Quantity.MaxDemandImport, Quantity.MaxDemandImportT1, Quantity.MaxDemandImportT2),
                }),
            }),
            ["power_factor"] = Value(r, Quantity.PowerFactor, Unit.None),
            ["conv_factor"] = 1,
        };
        if (r.TryGetProperty(PropertyNames.Volume, out var volume) && JsonNode.Parse(volume.RawJson.Span) is JsonArray entries)
        {
            report["volume"] = new JsonArray(entries.Select(e => (JsonNode?)new JsonObject
            {
                ["bus"] = e?["Bus"]?.DeepClone(),
                ["meter_id"] = e?["M_ID"]?.DeepClone(),
                ["date_time"] = e?["DT"]?.DeepClone(),
                ["cumulative"] = e?["Cum"]?.DeepClone(),
            }).ToArray());
        }

        return Prune(report)!;
    }

    private static JsonNode? Value(Reading r, Quantity q, Unit unit) => r.TryGet(q, unit, out var v) ? JsonValue.Create(v) : null;

    private static JsonNode? Apparent(Reading r)
    {
        var hasP = r.TryGet(Quantity.ActivePower, Unit.Kilowatt, out var p);
        var hasQ = r.TryGet(Quantity.ReactivePower, Unit.Kilovar, out var q);
        return hasP && hasQ ? JsonValue.Create(Math.Round(Math.Sqrt((p * p) + (q * q)), 3)) : null;
    }

    private static JsonObject? Phases(Reading r, Unit unit, Quantity total, Quantity l1, Quantity l2, Quantity l3) => Prune(new JsonObject
    {
        ["total"] = Value(r, total, unit),
        ["l1"] = Value(r, l1, unit),
        ["l2"] = Value(r, l2, unit),
        ["l3"] = Value(r, l3, unit),
    });

    private static JsonObject? Tariffs(Reading r, Unit unit, Quantity total, Quantity t1, Quantity t2) => Prune(new JsonObject
    {
        ["total"] = Value(r, total, unit),
        ["t1"] = Value(r, t1, unit),
        ["t2"] = Value(r, t2, unit),
    });

    // Members the meter does not provide are left out, and so is an object left empty by that.
    private static JsonObject? Prune(JsonObject o)
    {
        foreach (var key in o.Where(p => p.Value is null).Select(p => p.Key).ToArray())
        {
            o.Remove(key);
        }

        return o.Count == 0 ? null : o;
    }
}
