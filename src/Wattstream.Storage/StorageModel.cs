using Wattstream.Telemetry;

namespace Wattstream.Storage;

/// <summary>Where an event stands in the hub's history: the hub run (epoch) and the sequence within it.</summary>
public readonly record struct EventPosition(long Epoch, long Sequence) : IComparable<EventPosition>
{
    public static EventPosition Max { get; } = new(long.MaxValue, long.MaxValue);

    public int CompareTo(EventPosition other) => Epoch != other.Epoch ? Epoch.CompareTo(other.Epoch) : Sequence.CompareTo(other.Sequence);

    public static bool operator <(EventPosition a, EventPosition b) => a.CompareTo(b) < 0;

    public static bool operator >(EventPosition a, EventPosition b) => a.CompareTo(b) > 0;

    public static bool operator <=(EventPosition a, EventPosition b) => a.CompareTo(b) <= 0;

    public static bool operator >=(EventPosition a, EventPosition b) => a.CompareTo(b) >= 0;
}

/// <summary>A DER the store knows, and when its newest kept reading was taken (epoch ms; null when none is left).</summary>
public sealed record StoredDer(DerAddress Der, DerType Type, long? LastTimestamp);

/// <summary>A reading as stored: with the event id the hub gave it.</summary>
public sealed record StoredReading(EventPosition Event, Reading Reading);

/// <summary>
/// The measurements stored as columns, for queries computed in the database. Everything else stays in the payload.
/// </summary>
public enum HistoryField
{
    W,
    L1V,
    L2V,
    L3V,
    L1A,
    L2A,
    L3A,
    L1W,
    L2W,
    L3W,
    ImportWh,
    ExportWh,
    Soc,
}

public static class HistoryFields
{
    public static IReadOnlyList<HistoryField> All { get; } = Enum.GetValues<HistoryField>();

    /// <summary>The column (and the name in query parameters and responses).</summary>
    public static string Column(this HistoryField field) => field switch
    {
        HistoryField.W => "w",
        HistoryField.L1V => "l1_v",
        HistoryField.L2V => "l2_v",
        HistoryField.L3V => "l3_v",
        HistoryField.L1A => "l1_a",
        HistoryField.L2A => "l2_a",
        HistoryField.L3A => "l3_a",
        HistoryField.L1W => "l1_w",
        HistoryField.L2W => "l2_w",
        HistoryField.L3W => "l3_w",
        HistoryField.ImportWh => "import_wh",
        HistoryField.ExportWh => "export_wh",
        HistoryField.Soc => "soc",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    public static bool TryParse(string name, out HistoryField field)
    {
        foreach (var f in All)
        {
            if (f.Column() == name)
            {
                field = f;
                return true;
            }
        }

        field = default;
        return false;
    }

    /// <summary>The field's value of a reading in the stored unit (W, V, A, Wh, fraction), or null when the reading lacks it.</summary>
    public static double? ValueOf(this HistoryField field, Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        return SourceOf(field, reading.Type) is var (quantity, unit) ? reading.Get(quantity, unit) : null;
    }

    /// <summary>
    /// What the field is read from for a DER of the type, in the stored unit (W, V, A, Wh, fraction); null where the
    /// type has nothing for it. The one definition of the columns: <see cref="ValueOf"/> and the stored payload
    /// (<see cref="StoredPayload"/>, which leaves out what a column holds) both use it.
    /// </summary>
    public static (Quantity Quantity, Unit Unit)? SourceOf(this HistoryField field, DerType type) => field switch
    {
        HistoryField.W => (Quantity.ActivePower, Unit.Watt),
        HistoryField.L1V => (Quantity.VoltageL1, Unit.Volt),
        HistoryField.L2V => (Quantity.VoltageL2, Unit.Volt),
        HistoryField.L3V => (Quantity.VoltageL3, Unit.Volt),
        HistoryField.L1A => (Quantity.CurrentL1, Unit.Ampere),
        HistoryField.L2A => (Quantity.CurrentL2, Unit.Ampere),
        HistoryField.L3A => (Quantity.CurrentL3, Unit.Ampere),
        HistoryField.L1W => (Quantity.ActivePowerL1, Unit.Watt),
        HistoryField.L2W => (Quantity.ActivePowerL2, Unit.Watt),
        HistoryField.L3W => (Quantity.ActivePowerL3, Unit.Watt),
        // A DER's energy in and out registers: a meter's import and export, a battery's or charger's charge and
        // discharge, a PV's generation (out). Energy periods are computed from these (docs/protocol.md, Energy).
        HistoryField.ImportWh => type switch
        {
            DerType.Meter => (Quantity.EnergyImport, Unit.WattHour),
            DerType.Battery or DerType.V2xCharger => (Quantity.EnergyCharged, Unit.WattHour),
            _ => null,
        },
        HistoryField.ExportWh => type switch
        {
            DerType.Meter => (Quantity.EnergyExport, Unit.WattHour),
            DerType.Battery or DerType.V2xCharger => (Quantity.EnergyDischarged, Unit.WattHour),
            DerType.Pv => (Quantity.EnergyGenerated, Unit.WattHour),
            _ => null,
        },
        HistoryField.Soc => (Quantity.StateOfCharge, Unit.Fraction),
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    // For each DER type, the field each quantity is stored in (the reverse of SourceOf); -1 where none.
    private static readonly sbyte[][] FieldsByQuantity = Enum.GetValues<DerType>().Select(type =>
    {
        var map = new sbyte[256];
        Array.Fill(map, (sbyte)-1);
        foreach (var f in All)
        {
            if (SourceOf(f, type) is var (quantity, _))
            {
                map[(int)quantity] = (sbyte)f;
            }
        }

        return map;
    }).ToArray();

    /// <summary>The field a quantity of a DER of the type is stored in, if any.</summary>
    public static bool TryGetField(Quantity quantity, DerType type, out HistoryField field)
    {
        var types = FieldsByQuantity;
        var f = (uint)type < (uint)types.Length ? types[(int)type][(int)quantity] : -1;
        field = (HistoryField)Math.Max(f, (sbyte)0);
        return f >= 0;
    }
}

public enum Aggregate
{
    Avg,
    Min,
    Max,
    Last,
}

/// <summary>Time-bucketed series: for each DER and each bucket of <see cref="StepMs"/> in [From, To), the aggregate of each field.</summary>
public sealed record HistoryQuery(IReadOnlyList<DerAddress> Ders, long From, long To, long StepMs, IReadOnlyList<HistoryField> Fields, Aggregate Aggregate);

/// <summary>One bucket: its start (epoch ms) and one value per queried field (null where no reading had it).</summary>
public sealed record HistoryPoint(long Time, double?[] Values);

public sealed record HistorySeries(DerAddress Der, IReadOnlyList<HistoryPoint> Points);
