using FsCheck;
using FsCheck.Xunit;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

/// <summary>Properties of the converters over generated payloads.</summary>
public class ConverterProperties
{
    // FsCheck's doubles include NaN and ±∞, which no payload may carry: fold them to finite values.
    private static double Finite(double d) => double.IsFinite(d) ? d : 0;

    private static Reading Meter(double[] values, bool[] present)
    {
        var measurements = new List<Measurement>();
        for (var i = 0; i < WhatwattLive.Fields.Length; i++)
        {
            if (i < present.Length && present[i] && i < values.Length)
            {
                var field = WhatwattLive.Fields[i];
                var v = field.Quantity == Quantity.ActiveTariff ? Math.Abs(Math.Round(Finite(values[i]) % 4)) : Finite(values[i]);
                measurements.Add(new Measurement(field.Quantity, v, field.Unit));
            }
        }

        return new Reading(Samples.Meter, DerType.Meter, 1_700_000_000_000, null, measurements);
    }

    [Property(MaxTest = 300)]
    public bool Whatwatt_write_then_parse_keeps_every_value_to_the_bit(double[] values, bool[] present)
    {
        var original = Meter(values, present);

        var parsed = WhatwattLive.Parse(WhatwattLive.ToUtf8(original, TimeZoneInfo.Utc), Samples.Meter, original.Timestamp);

        return original.Measurements.All(m => parsed.TryGetRaw(m.Quantity, out var p) && p.Value.Equals(m.Value) && p.Unit == m.Unit)
            && parsed.Measurements.Count == original.Measurements.Count;
    }

    [Property(MaxTest = 300)]
    public bool Whatwatt_payload_written_again_is_identical(double[] values, bool[] present)
    {
        var first = WhatwattLive.ToUtf8(Meter(values, present), TimeZoneInfo.Utc);

        var second = WhatwattLive.ToUtf8(WhatwattLive.Parse(first, Samples.Meter, 1_700_000_000_000), TimeZoneInfo.Utc);

        return first.AsSpan().SequenceEqual(second);
    }

    [Property(MaxTest = 300)]
    public bool Novacore_net_power_is_import_minus_export_in_watts(NormalFloat pIn, NormalFloat pOut)
    {
        var import = Math.Abs(pIn.Get % 1e6);
        var export = Math.Abs(pOut.Get % 1e6);
        var reading = new Reading(Samples.Meter, DerType.Meter, 1, null,
            [new(Quantity.ActivePowerImport, import, Unit.Kilowatt), new(Quantity.ActivePowerExport, export, Unit.Kilowatt)]);

        var novacore = NovacoreReading.Parse(NovacoreReading.ToUtf8(reading), Samples.Meter);

        var expected = (import - export) * 1000;
        return Math.Abs(novacore.Get(Quantity.ActivePower, Unit.Watt)!.Value - expected) <= 1e-9 * Math.Max(1, Math.Abs(import * 1000) + Math.Abs(export * 1000));
    }

    [Property(MaxTest = 300)]
    public bool Novacore_readings_of_every_type_round_trip(byte typeIndex, double[] values, bool[] present, PositiveInt timestamp)
    {
        var type = (DerType)(typeIndex % 4);
        var fields = NovacoreReading.FieldsOf(type);
        var measurements = new List<Measurement>();
        for (var i = 0; i < fields.Length && i < values.Length && i < present.Length; i++)
        {
            if (present[i] && !measurements.Exists(m => m.Quantity == fields[i].Quantity))
            {
                measurements.Add(new Measurement(fields[i].Quantity, Finite(values[i]), fields[i].Unit));
            }
        }

        var original = new Reading(Samples.Pv, type, timestamp.Get, 12.5, measurements);
        var bytes = NovacoreReading.ToUtf8(original);
        var parsed = NovacoreReading.Parse(bytes, Samples.Pv);

        return parsed.Type == type
            && parsed.Timestamp == timestamp.Get
            && parsed.ReadTimeMs == 12.5
            && parsed.Measurements.Count == original.Measurements.Count
            && original.Measurements.All(m => parsed.TryGetRaw(m.Quantity, out var p) && p.Value.Equals(m.Value))
            && NovacoreReading.ToUtf8(parsed).AsSpan().SequenceEqual(bytes);
    }

    [Property(MaxTest = 300)]
    public bool DerSim_power_and_soc_survive_both_ways(NormalFloat power, NormalFloat soc, byte asset)
    {
        var (assetType, type) = (asset % 3) switch
        {
            0 => ("pv", DerType.Pv),
            1 => ("battery", DerType.Battery),
            _ => ("evse", DerType.V2xCharger),
        };
        var kw = power.Get % 1e5;
        var pct = Math.Abs(soc.Get % 100);
        var json = $$"""{"metrics":{"power_kw":{{kw.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}},"state_of_charge_pct":{{pct.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}},"asset_type":"{{assetType}}"}""";

        var reading = DerSimOverview.Parse(Samples.Utf8(json), Samples.Pv, 1);
        var back = DerSimOverview.Parse(DerSimOverview.ToUtf8(reading, 0), Samples.Pv, 1);

        var sign = type == DerType.V2xCharger ? 1 : -1;
        return reading.Type == type
            && reading.Get(Quantity.ActivePower, Unit.Kilowatt) == sign * kw
            && back.Get(Quantity.ActivePower, Unit.Kilowatt) == sign * kw
            && back.Get(Quantity.StateOfCharge, Unit.Percent) == pct;
    }
}
