using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// The head-end system's real-time data event: <c>meterNo</c>, an ISO-8601 <c>timestamp</c>, then human-readable labels
/// whose values are strings with units ("230.5 V"). Write-only: it is a display format.
/// </summary>
public static class HesRealtime
{
    public const string RemainingCreditLabel = "Remaining Credit Amount";

    private static readonly (string Label, Quantity Quantity, Unit Unit)[] Labels =
    [
        ("Active power import (+P)", Quantity.ActivePowerImport, Unit.Kilowatt),
        ("Active power export (-P)", Quantity.ActivePowerExport, Unit.Kilowatt),
        ("L1 Active Power", Quantity.ActivePowerL1, Unit.Kilowatt),
        ("L2 Active Power", Quantity.ActivePowerL2, Unit.Kilowatt),
        ("L3 Active Power", Quantity.ActivePowerL3, Unit.Kilowatt),
        ("L1 Voltage", Quantity.VoltageL1, Unit.Volt),
        ("L2 Voltage", Quantity.VoltageL2, Unit.Volt),
        ("L3 Voltage", Quantity.VoltageL3, Unit.Volt),
        ("L1 Current", Quantity.CurrentL1, Unit.Ampere),
        ("L2 Current", Quantity.CurrentL2, Unit.Ampere),
        ("L3 Current", Quantity.CurrentL3, Unit.Ampere),
        ("Frequency", Quantity.Frequency, Unit.Hertz),
        ("Power Factor", Quantity.PowerFactor, Unit.None),
        ("Active energy import (+A)", Quantity.EnergyImport, Unit.KilowattHour),
        ("Active energy import (+A) T1", Quantity.EnergyImportT1, Unit.KilowattHour),
        ("Active energy import (+A) T2", Quantity.EnergyImportT2, Unit.KilowattHour),
        ("Active energy export (-A)", Quantity.EnergyExport, Unit.KilowattHour),
        ("Active energy export (-A) T1", Quantity.EnergyExportT1, Unit.KilowattHour),
        ("Active energy export (-A) T2", Quantity.EnergyExportT2, Unit.KilowattHour),
        ("Reactive energy import (+R)", Quantity.ReactiveEnergyImport, Unit.KilovarHour),
        ("Reactive energy export (-R)", Quantity.ReactiveEnergyExport, Unit.KilovarHour),
        ("Active Tariff", Quantity.ActiveTariff, Unit.None),
    ];

    /// <summary>ISO-8601 UTC with milliseconds and <c>Z</c>, as the HES frontend shows it.</summary>
    public static string FormatTime(DateTimeOffset time) => WireTime.Format(time);

    public static void Write(Reading reading, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(reading);
        using var rented = JsonWriting.Rent(output);
        var writer = rented.Writer;
        writer.WriteStartObject();
        writer.WriteString("meterNo", reading.Der.Der);
        writer.WriteString("timestamp", FormatTime(reading.Time));
        foreach (var (label, quantity, unit) in Labels)
        {
            if (reading.TryGet(quantity, unit, out var v))
            {
                var text = Text(v, "0.###");
                writer.WriteString(label, unit == Unit.None ? text : $"{text} {unit.Symbol()}");
            }
        }

        // |A+| + |A−|, OBIS 15.8.0: the register the HES sample names.
        var hasImport = reading.TryGet(Quantity.EnergyImport, Unit.KilowattHour, out var import);
        var hasExport = reading.TryGet(Quantity.EnergyExport, Unit.KilowattHour, out var export);
        if (hasImport || hasExport)
        {
            var total = (hasImport ? import : 0) + (hasExport ? export : 0);
            writer.WriteString("Total absolute cumulative active energy register", $"{Text(total, "0.###")} kWh");
        }

        // A prepaid meter's credit, two decimals and no unit, as the HES sample writes it; other meters have none.
        if (reading.TryGet(Quantity.RemainingCredit, Unit.None, out var credit))
        {
            writer.WriteString(RemainingCreditLabel, Text(credit, "0.00"));
        }

        writer.WriteEndObject();
    }

    /// <summary>A number as the HES strings write it; one that rounds to zero is "0", never "-0" or "-0.00".</summary>
    private static string Text(double value, string format)
    {
        var text = value.ToString(format, CultureInfo.InvariantCulture);
        return text.StartsWith('-') && text.AsSpan(1).IndexOfAnyExcept("0.") < 0 ? text[1..] : text;
    }
}
