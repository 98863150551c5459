using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Whatwatt;

/// <summary>
/// Builds the whatwatt device's <c>/api/v1/report</c> and <c>/api/v1/system</c> bodies for a meter the hub knows.
/// Values the reading lacks are left out, as the device leaves out what its meter does not provide.
/// </summary>
public sealed class WhatwattDevice(StatusBoard statuses, TimeProvider time)
{
    public const string Firmware = "1.10.0";
    private readonly DateTimeOffset _boot = time.GetUtcNow();
    private readonly string _bootId = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    /// <summary>A stable 12-hex-digit device id per meter, the device's <c>system.id</c>.</summary>
    public static string DeviceId(DerAddress meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(meter.Subject)))[..12];
    }

    public JsonObject Report(HubEvent last, TimeSpan? interval)
    {
        ArgumentNullException.ThrowIfNull(last);
        var r = last.Reading;
        var local = LocalTime(r);
        var report = new JsonObject
        {
            ["id"] = last.Id,
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

        return new JsonObject
        {
            ["report"] = Prune(report),
            ["meter"] = Meter(r.Der),
            ["system"] = SystemSummary(r.Der),
        };
    }

    public JsonObject System(DerAddress meter, HubEvent? last, TimeSpan? interval)
    {
        ArgumentNullException.ThrowIfNull(meter);
        var id = DeviceId(meter);
        var meterInfo = Meter(meter);
        meterInfo["report_interval"] = interval is { } i ? Math.Round(i.TotalSeconds, 3) : null;
        return new JsonObject
        {
            ["device"] = new JsonObject
            {
                ["name"] = $"whatwatt-{id[^6..]}",
                ["id"] = id,
                ["model"] = "Wattstream",
                ["firmware"] = Firmware,
                ["license"] = "PLUS",
                ["time_since_boot"] = (long)(time.GetUtcNow() - _boot).TotalSeconds,
            },
            ["meter"] = Prune(meterInfo),
            ["wifi"] = new JsonObject { ["mode"] = "off", ["connected"] = false },
            ["ethernet"] = new JsonObject { ["connected"] = true, ["ip"] = "127.0.0.1", ["hostname"] = $"whatwatt-{id[^6..]}" },
            ["clouds"] = new JsonObject(),
            ["services"] = new JsonObject { ["live"] = true, ["report"] = true, ["last_reading"] = last is null ? null : last.Reading.Time.UtcDateTime.ToString("o", CultureInfo.InvariantCulture) },
        };
    }

    private JsonObject Meter(DerAddress meter)
    {
        // The device's meter.status: values are trustworthy only when OK.
        var status = statuses.Get(meter)?.Status switch
        {
            ConnectionStatus.Connected => "OK",
            ConnectionStatus.Stale => "NO DATA",
            null or ConnectionStatus.Unknown or ConnectionStatus.Connecting => "RECOGNITION",
            _ => "NOT CONNECTED",
        };
        return new JsonObject
        {
            ["status"] = status,
            ["interface"] = "P1",
            ["protocol"] = "DSMR",
            ["id"] = meter.Der,
            ["model"] = null,
            ["vendor"] = null,
        };
    }

    private JsonObject SystemSummary(DerAddress meter) => new()
    {
        ["id"] = DeviceId(meter),
        ["boot_id"] = _bootId,
        ["time_since_boot"] = (long)(time.GetUtcNow() - _boot).TotalSeconds,
        ["date_time_utc"] = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
    };

    private static DateTimeOffset LocalTime(Reading r) => TimeZoneInfo.ConvertTime(r.Time, TimeZoneInfo.Local);

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
