using Wattstream.Telemetry;

namespace Wattstream.Server.Families.Hes;

/// <summary>
/// The common OBIS codes (IEC 62056-61, electricity: medium 1, channel 0) a head-end system asks meters for, mapped to
/// the hub's quantities. A code is accepted as <c>1.8.0</c>, <c>1-0:1.8.0</c> or with a billing-period suffix
/// (<c>1-0:1.8.0*255</c>, <c>1-0:1.8.0.255</c>).
/// </summary>
internal static class ObisCodes
{
    /// <summary>What a code reads: a quantity in a unit, or the meter's clock (0.9.1 time, 0.9.2 date).</summary>
    public sealed record Entry(string Code, string Description, Quantity? Quantity, Unit Unit, string? Clock = null);

    private static readonly Entry[] Entries =
    [
        new("1.8.0", "Active energy import (+A), total", Quantity.EnergyImport, Unit.KilowattHour),
        new("1.8.1", "Active energy import (+A), tariff 1", Quantity.EnergyImportT1, Unit.KilowattHour),
        new("1.8.2", "Active energy import (+A), tariff 2", Quantity.EnergyImportT2, Unit.KilowattHour),
        new("2.8.0", "Active energy export (-A), total", Quantity.EnergyExport, Unit.KilowattHour),
        new("2.8.1", "Active energy export (-A), tariff 1", Quantity.EnergyExportT1, Unit.KilowattHour),
        new("2.8.2", "Active energy export (-A), tariff 2", Quantity.EnergyExportT2, Unit.KilowattHour),
        new("3.8.0", "Reactive energy import (+R), total", Quantity.ReactiveEnergyImport, Unit.KilovarHour),
        new("4.8.0", "Reactive energy export (-R), total", Quantity.ReactiveEnergyExport, Unit.KilovarHour),
        new("1.7.0", "Active power import (+P)", Quantity.ActivePowerImport, Unit.Kilowatt),
        new("2.7.0", "Active power export (-P)", Quantity.ActivePowerExport, Unit.Kilowatt),
        new("21.7.0", "Active power import (+P), L1", Quantity.ActivePowerImportL1, Unit.Kilowatt),
        new("41.7.0", "Active power import (+P), L2", Quantity.ActivePowerImportL2, Unit.Kilowatt),
        new("61.7.0", "Active power import (+P), L3", Quantity.ActivePowerImportL3, Unit.Kilowatt),
        new("22.7.0", "Active power export (-P), L1", Quantity.ActivePowerExportL1, Unit.Kilowatt),
        new("42.7.0", "Active power export (-P), L2", Quantity.ActivePowerExportL2, Unit.Kilowatt),
        new("62.7.0", "Active power export (-P), L3", Quantity.ActivePowerExportL3, Unit.Kilowatt),
        new("32.7.0", "Voltage, L1", Quantity.VoltageL1, Unit.Volt),
        new("52.7.0", "Voltage, L2", Quantity.VoltageL2, Unit.Volt),
        new("72.7.0", "Voltage, L3", Quantity.VoltageL3, Unit.Volt),
        new("31.7.0", "Current, L1", Quantity.CurrentL1, Unit.Ampere),
        new("51.7.0", "Current, L2", Quantity.CurrentL2, Unit.Ampere),
        new("71.7.0", "Current, L3", Quantity.CurrentL3, Unit.Ampere),
        new("14.7.0", "Frequency", Quantity.Frequency, Unit.Hertz),
        new("13.7.0", "Power factor", Quantity.PowerFactor, Unit.None),
        new("0.9.1", "Meter local time", null, Unit.None, Clock: PropertyNames.LocalTime),
        new("0.9.2", "Meter local date", null, Unit.None, Clock: PropertyNames.LocalDate),
    ];

    private static readonly Dictionary<string, Entry> ByCode = Entries.ToDictionary(e => e.Code, StringComparer.Ordinal);

    /// <summary>The entry for a code in any of the accepted spellings, or null for a code the hub does not map.</summary>
    public static Entry? Find(string? code)
    {
        if (string.IsNullOrWhiteSpace(code))
        {
            return null;
        }

        var text = code.Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            if (text[..colon] is not ("1-0" or "0-0" or "1-1"))
            {
                return null; // another medium (gas, water, heat) or channel
            }

            text = text[(colon + 1)..];
        }

        var star = text.IndexOf('*', StringComparison.Ordinal);
        if (star >= 0)
        {
            text = text[..star];
        }

        var parts = text.Split('.');
        if (parts.Length == 4)
        {
            text = string.Join('.', parts[..3]); // C.D.E.F: F is the billing period
        }

        return ByCode.GetValueOrDefault(text);
    }

    public static IReadOnlyList<Entry> All => Entries;
}
