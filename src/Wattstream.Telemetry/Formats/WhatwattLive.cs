using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// The whatwatt Go live payload: the flat JSON of an <c>event: live</c> on <c>/api/v1/live</c>, keys in kW, kWh, kvar, V, A.
/// Always a <see cref="DerType.Meter"/> reading.
/// </summary>
public static class WhatwattLive
{
    public const string FormatName = "whatwatt";

    // In the order the device writes them (the seed's sample event); keys a meter lacks are omitted.
    internal static readonly NumericField[] Fields =
    [
        new("P_In", Quantity.ActivePowerImport, Unit.Kilowatt),
        new("P_Out", Quantity.ActivePowerExport, Unit.Kilowatt),
        new("P_P1_In", Quantity.ActivePowerImportL1, Unit.Kilowatt),
        new("P_P2_In", Quantity.ActivePowerImportL2, Unit.Kilowatt),
        new("P_P3_In", Quantity.ActivePowerImportL3, Unit.Kilowatt),
        new("P_P1_Out", Quantity.ActivePowerExportL1, Unit.Kilowatt),
        new("P_P2_Out", Quantity.ActivePowerExportL2, Unit.Kilowatt),
        new("P_P3_Out", Quantity.ActivePowerExportL3, Unit.Kilowatt),
        new("P_P_In", Quantity.MaxDemandImport, Unit.Kilowatt),
        new("P_P_In_T1", Quantity.MaxDemandImportT1, Unit.Kilowatt),
        new("P_P_In_T2", Quantity.MaxDemandImportT2, Unit.Kilowatt),
        new("rP_In", Quantity.ReactivePowerImport, Unit.Kilovar),
        new("rP_Out", Quantity.ReactivePowerExport, Unit.Kilovar),
        new("rP_P1_In", Quantity.ReactivePowerImportL1, Unit.Kilovar),
        new("rP_P2_In", Quantity.ReactivePowerImportL2, Unit.Kilovar),
        new("rP_P3_In", Quantity.ReactivePowerImportL3, Unit.Kilovar),
        new("rP_P1_Out", Quantity.ReactivePowerExportL1, Unit.Kilovar),
        new("rP_P2_Out", Quantity.ReactivePowerExportL2, Unit.Kilovar),
        new("rP_P3_Out", Quantity.ReactivePowerExportL3, Unit.Kilovar),
        new("PF", Quantity.PowerFactor, Unit.None),
        new("I_P1", Quantity.CurrentL1, Unit.Ampere),
        new("I_P2", Quantity.CurrentL2, Unit.Ampere),
        new("I_P3", Quantity.CurrentL3, Unit.Ampere),
        new("V_P1", Quantity.VoltageL1, Unit.Volt),
        new("V_P2", Quantity.VoltageL2, Unit.Volt),
        new("V_P3", Quantity.VoltageL3, Unit.Volt),
        new("E_In", Quantity.EnergyImport, Unit.KilowattHour),
        new("E_In_T1", Quantity.EnergyImportT1, Unit.KilowattHour),
        new("E_In_T2", Quantity.EnergyImportT2, Unit.KilowattHour),
        new("E_Out", Quantity.EnergyExport, Unit.KilowattHour),
        new("E_Out_T1", Quantity.EnergyExportT1, Unit.KilowattHour),
        new("E_Out_T2", Quantity.EnergyExportT2, Unit.KilowattHour),
        new("rE_In", Quantity.ReactiveEnergyImport, Unit.KilovarHour),
        new("rE_Out", Quantity.ReactiveEnergyExport, Unit.KilovarHour),
        new("rEii", Quantity.ReactiveEnergyImportedInductive, Unit.KilovarHour),
        new("rEic", Quantity.ReactiveEnergyImportedCapacitive, Unit.KilovarHour),
        new("rEei", Quantity.ReactiveEnergyExportedInductive, Unit.KilovarHour),
        new("rEec", Quantity.ReactiveEnergyExportedCapacitive, Unit.KilovarHour),
        new("T", Quantity.ActiveTariff, Unit.None),
    ];

    private static readonly Dictionary<string, NumericField> FieldsByKey = Fields.ToLookup();

    /// <summary>
    /// Converts one live payload. The device sends local Date/Time but no epoch time, so the caller gives the
    /// timestamp it assigns (its receive time, or the device's time when it has one).
    /// </summary>
    /// <exception cref="TelemetryFormatException">The payload is not a JSON object, or a numeric field is not a finite number.</exception>
    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der, long timestamp)
    {
        var measurements = new List<Measurement>(Fields.Length + 1);
        var properties = new List<ReadingField>(4);
        var extras = new List<ReadingField>();
        var errors = new List<string>();
        try
        {
            var reader = new JsonObjectReader(json);
            reader.ExpectObjectStart("a live payload");
            while (reader.NextMember(out var key))
            {
                if (FieldsByKey.TryGetValue(key, out var field))
                {
                    reader.ReadNumeric(field, key, measurements, errors);
                    continue;
                }

                switch (key)
                {
                    case "Uptime":
                        reader.ReadNumeric(new NumericField(key, Quantity.Uptime, Unit.Hour), key, measurements, errors);
                        break;
                    case "Date":
                        properties.Add(new ReadingField(PropertyNames.LocalDate, reader.TakeRawValue()));
                        break;
                    case "Time":
                        properties.Add(new ReadingField(PropertyNames.LocalTime, reader.TakeRawValue()));
                        break;
                    case "Vol":
                        properties.Add(new ReadingField(PropertyNames.Volume, reader.TakeRawValue()));
                        break;
                    default:
                        extras.Add(new ReadingField(key, reader.TakeRawValue()));
                        break;
                }
            }

            reader.ExpectEnd();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw TelemetryFormatException.Malformed(e);
        }

        TelemetryFormatException.ThrowIfAny(errors);

        return new Reading(der, DerType.Meter, timestamp, null, measurements, properties, extras, FormatName);
    }

    /// <summary>
    /// Writes the live payload of a meter reading. Date and Time are the device's own when the reading has them,
    /// otherwise the timestamp in <paramref name="localTime"/> (the device reports local time).
    /// </summary>
    public static void Write(Reading reading, IBufferWriter<byte> output, TimeZoneInfo? localTime = null)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (reading.Type != DerType.Meter)
        {
            throw new ArgumentException($"The whatwatt live payload is for meters, not {reading.Type.ToWireName()}.", nameof(reading));
        }

        using var rented = JsonWriting.Rent(output);
        var writer = rented.Writer;
        writer.WriteStartObject();
        foreach (var field in Fields)
        {
            if (reading.TryGet(field.Quantity, field.Unit, out var v))
            {
                if (field.Quantity == Quantity.ActiveTariff)
                {
                    writer.WritePropertyName(field.Key);
                    writer.WriteNumberValue((long)Math.Round(v));
                }
                else
                {
                    writer.WriteWireNumber(field.Key, v);
                }
            }
        }

        if (reading.TryGetProperty(PropertyNames.Volume, out var vol))
        {
            writer.WriteRawField("Vol", vol.RawJson);
        }

        var local = TimeZoneInfo.ConvertTime(reading.Time, localTime ?? TimeZoneInfo.Local);
        if (reading.TryGetProperty(PropertyNames.LocalDate, out var date))
        {
            writer.WriteRawField("Date", date.RawJson);
        }
        else
        {
            writer.WriteString("Date", local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        if (reading.TryGetProperty(PropertyNames.LocalTime, out var time))
        {
            writer.WriteRawField("Time", time.RawJson);
        }
        else
        {
            writer.WriteString("Time", local.ToString("HH:mm:ss", CultureInfo.InvariantCulture));
        }

        if (reading.TryGet(Quantity.Uptime, Unit.Hour, out var uptime))
        {
            writer.WriteNumber("Uptime", uptime);
        }

        if (reading.ExtrasOrigin == FormatName)
        {
            foreach (var extra in reading.Extras)
            {
                writer.WriteRawField(extra.Name, extra.RawJson);
            }
        }

        writer.WriteEndObject();
    }

    public static byte[] ToUtf8(Reading reading, TimeZoneInfo? localTime = null)
    {
        var buffer = new ArrayBufferWriter<byte>(768);
        Write(reading, buffer, localTime);
        return buffer.WrittenSpan.ToArray();
    }
}
