using System.Buffers;
using System.Text.Json;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// The Novacore reading JSON: flat, SI units (W, Wh, V, A, Hz, °C, fractions), with <c>type</c>, <c>timestamp</c>
/// (epoch ms) and <c>read_time_ms</c>. The same key means the same quantity whatever the type. Written readings also
/// carry their DER's <c>site_id</c>, <c>device_id</c> and <c>der_id</c>: Novacore's key of a reading is
/// (<c>der_id</c>, <c>timestamp</c>), and one site's stream mixes its DERs.
/// </summary>
public static class NovacoreReading
{
    public const string FormatName = "novacore";

    public const string SiteIdKey = "site_id";
    public const string DeviceIdKey = "device_id";
    public const string DerIdKey = "der_id";

    /// <summary>A prepaid meter's remaining credit in its tariff's currency; absent for other meters.</summary>
    public const string RemainingCreditKey = "remaining_credit";

    private static readonly NumericField W = new("W", Quantity.ActivePower, Unit.Watt);
    private static readonly NumericField V = new("V", Quantity.Voltage, Unit.Volt);
    private static readonly NumericField A = new("A", Quantity.Current, Unit.Ampere);
    private static readonly NumericField Hz = new("Hz", Quantity.Frequency, Unit.Hertz);
    private static readonly NumericField RatedPower = new("rated_power_W", Quantity.RatedPower, Unit.Watt);
    private static readonly NumericField Heatsink = new("heatsink_C", Quantity.HeatsinkTemperature, Unit.Celsius);
    private static readonly NumericField LowerLimit = new("lower_limit_W", Quantity.PowerLowerLimit, Unit.Watt);
    private static readonly NumericField UpperLimit = new("upper_limit_W", Quantity.PowerUpperLimit, Unit.Watt);
    private static readonly NumericField TotalCharge = new("total_charge_Wh", Quantity.EnergyCharged, Unit.WattHour);
    private static readonly NumericField TotalDischarge = new("total_discharge_Wh", Quantity.EnergyDischarged, Unit.WattHour);

    private static readonly NumericField[] Phases =
    [
        new("L1_V", Quantity.VoltageL1, Unit.Volt),
        new("L1_A", Quantity.CurrentL1, Unit.Ampere),
        new("L1_W", Quantity.ActivePowerL1, Unit.Watt),
        new("L2_V", Quantity.VoltageL2, Unit.Volt),
        new("L2_A", Quantity.CurrentL2, Unit.Ampere),
        new("L2_W", Quantity.ActivePowerL2, Unit.Watt),
        new("L3_V", Quantity.VoltageL3, Unit.Volt),
        new("L3_A", Quantity.CurrentL3, Unit.Ampere),
        new("L3_W", Quantity.ActivePowerL3, Unit.Watt),
    ];

    // Per type, the keys in the order they are written.
    private static readonly NumericField[] PvFields =
    [
        W, RatedPower,
        new("mppt1_V", Quantity.Mppt1Voltage, Unit.Volt),
        new("mppt1_A", Quantity.Mppt1Current, Unit.Ampere),
        new("mppt2_V", Quantity.Mppt2Voltage, Unit.Volt),
        new("mppt2_A", Quantity.Mppt2Current, Unit.Ampere),
        Heatsink,
        new("total_generation_Wh", Quantity.EnergyGenerated, Unit.WattHour),
        LowerLimit, UpperLimit,
    ];

    // A battery's V and A are its terminals' (DC); a charger's are the AC side's, with dc_V and dc_A beside them.
    private static readonly NumericField[] BatteryFields =
    [
        W, new("V", Quantity.DcVoltage, Unit.Volt), new("A", Quantity.DcCurrent, Unit.Ampere),
        new("SoC_nom_fract", Quantity.StateOfCharge, Unit.Fraction),
        Heatsink,
        new("temperature_C", Quantity.Temperature, Unit.Celsius),
        TotalCharge, TotalDischarge, UpperLimit, LowerLimit,
        new("SoH_fract", Quantity.StateOfHealth, Unit.Fraction),
        new("available_charge_Wh", Quantity.AvailableChargeEnergy, Unit.WattHour),
        new("available_discharge_Wh", Quantity.AvailableDischargeEnergy, Unit.WattHour),
    ];

    private static readonly NumericField[] MeterFields =
    [
        W, Hz, .. Phases,
        new("total_import_Wh", Quantity.EnergyImport, Unit.WattHour),
        new("total_export_Wh", Quantity.EnergyExport, Unit.WattHour),
        new(RemainingCreditKey, Quantity.RemainingCredit, Unit.None), // a prepaid meter's: the hub's addition to the schema
    ];

    private static readonly NumericField[] V2xFields =
    [
        W, A, V, Hz, .. Phases,
        new("dc_W", Quantity.DcPower, Unit.Watt),
        new("dc_V", Quantity.DcVoltage, Unit.Volt),
        new("dc_A", Quantity.DcCurrent, Unit.Ampere),
        new("vehicle_soc_fract", Quantity.VehicleStateOfCharge, Unit.Fraction),
        new("ev_target_energy_req_Wh", Quantity.EvTargetEnergyRequest, Unit.WattHour),
        new("ev_max_energy_req_Wh", Quantity.EvMaxEnergyRequest, Unit.WattHour),
        new("ev_min_energy_req_Wh", Quantity.EvMinEnergyRequest, Unit.WattHour),
        new("session_charge_Wh", Quantity.SessionEnergyCharged, Unit.WattHour),
        new("session_discharge_Wh", Quantity.SessionEnergyDischarged, Unit.WattHour),
        TotalCharge, TotalDischarge,
        new("capacity_Wh", Quantity.Capacity, Unit.WattHour),
        RatedPower,
    ];

    // Every numeric key any type knows; a key of another type's table is still read as that quantity.
    private static readonly Dictionary<string, NumericField> AllByKey =
        MeterFields.Concat(V2xFields).Concat(PvFields).Concat(BatteryFields)
            .DistinctBy(f => f.Key).ToDictionary(f => f.Key, StringComparer.Ordinal);

    // Looked up by a member's name as parsed, without making a string of it.
    private static readonly Dictionary<string, NumericField>.AlternateLookup<ReadOnlySpan<char>> AllByKeySpan = AllByKey.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly Dictionary<DerType, Dictionary<string, NumericField>> ByType =
        Enum.GetValues<DerType>().ToDictionary(t => t, t => FieldsOf(t).ToLookup());

    private static readonly Dictionary<Quantity, NumericField> ByQuantity = AllByKey.Values.ToDictionary(f => f.Quantity);

    // For each DER type (by number), the key each quantity outside its own table is written under (by quantity number);
    // null where the type's table has the quantity or uses the key for something else.
    private static readonly NumericField?[][] OthersByType = BuildOthers();

    private static NumericField?[][] BuildOthers()
    {
        var types = Enum.GetValues<DerType>();
        var result = new NumericField?[types.Max(t => (int)t) + 1][];
        var quantities = Enum.GetValues<Quantity>().Max(q => (int)q) + 1;
        foreach (var type in types)
        {
            var typeFields = FieldsOf(type);
            var others = new NumericField?[quantities];
            foreach (var (quantity, field) in ByQuantity)
            {
                if (!Array.Exists(typeFields, f => f.Quantity == quantity || f.Key == field.Key))
                {
                    others[(int)quantity] = field;
                }
            }

            result[(int)type] = others;
        }

        return result;
    }

    private static readonly string[] PropertyKeys =
        [PropertyNames.Status, PropertyNames.Protocol, PropertyNames.ControlMode, PropertyNames.PlugConnected];

    /// <summary>Whether <paramref name="key"/> is a numeric key of the Novacore reading of any DER type ("W", "L1_V", "SoC_nom_fract", …).</summary>
    public static bool IsNumericKey(string key) => AllByKey.ContainsKey(key);

    /// <summary>The value <paramref name="reading"/> has under Novacore's <paramref name="key"/>, in that key's unit (W, V, fraction, …).</summary>
    public static bool TryGetField(Reading reading, string key, out double value)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (ByType[reading.Type].TryGetValue(key, out var field) || AllByKey.TryGetValue(key, out field))
        {
            return reading.TryGet(field.Quantity, field.Unit, out value);
        }

        value = 0;
        return false;
    }

    internal static NumericField[] FieldsOf(DerType type) => type switch
    {
        DerType.Pv => PvFields,
        DerType.Battery => BatteryFields,
        DerType.Meter => MeterFields,
        DerType.V2xCharger => V2xFields,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Converts one reading JSON for the DER at <paramref name="der"/>.</summary>
    /// <exception cref="TelemetryFormatException">Names every bad field: a missing or unknown type, a missing timestamp, a non-numeric value.</exception>
    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der) => Parse(json, der, []);

    /// <summary>
    /// As <see cref="Parse(ReadOnlySpan{byte}, DerAddress)"/>, passing over the members named in <paramref name="skip"/>
    /// (a pushed reading's address members, which the address already holds) instead of keeping them as extras.
    /// </summary>
    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der, ReadOnlySpan<string> skip) => Parse(json, der, skip, out _);

    /// <summary>
    /// As <see cref="Parse(ReadOnlySpan{byte}, DerAddress, ReadOnlySpan{string})"/>, giving the address members the JSON
    /// carries (<c>site_id</c>, <c>device_id</c>, <c>der_id</c>; null where absent or not a string). They never become
    /// extras: the reading's address is <paramref name="der"/>, and a caller that trusts the JSON's ids uses them.
    /// </summary>
    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der, ReadOnlySpan<string> skip, out CarriedIds carried)
    {
        var lists = ParseLists.Take();
        try
        {
            return Parse(json, der, skip, lists, out carried);
        }
        finally
        {
            ParseLists.Return(lists);
        }
    }

    private static Reading Parse(ReadOnlySpan<byte> json, DerAddress der, ReadOnlySpan<string> skip, ParseLists lists, out CarriedIds carried)
    {
        string? siteId = null, deviceId = null, derId = null;
        var (numbers, keys, properties, extras, errors) = (lists.Numbers, lists.Keys, lists.Properties, lists.Extras, lists.Errors);
        DerType? type = null;
        long? timestamp = null;
        double? readTime = null;
        try
        {
            Span<char> scratch = stackalloc char[64];
            scoped var reader = new JsonObjectReader(json);
            reader.ExpectObjectStart("a reading");
            while (reader.NextMember(scratch, out var key))
            {
                switch (key)
                {
                    case "type":
                        if (reader.GetStringOrNull() is { } t && DerTypes.TryParse(t, out var parsed))
                        {
                            type = parsed;
                        }
                        else
                        {
                            errors.Add("'type' must be one of meter, pv, battery, v2x_charger");
                            reader.SkipValue();
                        }

                        break;
                    case "timestamp":
                        if (reader.TryGetDouble(out var ts) && ts >= 0 && ts <= 253402300799999 && ts == Math.Floor(ts))
                        {
                            timestamp = (long)ts;
                        }
                        else
                        {
                            errors.Add("'timestamp' must be Unix epoch milliseconds");
                            reader.SkipValue();
                        }

                        break;
                    case "read_time_ms":
                        if (reader.TryGetDouble(out var rt) && rt >= 0)
                        {
                            readTime = rt;
                        }
                        else
                        {
                            errors.Add("'read_time_ms' must be a number ≥ 0");
                            reader.SkipValue();
                        }

                        break;
                    case "make":
                        properties.Add(new ReadingField(PropertyNames.Make, reader.TakeRawValue()));
                        break;
                    case PropertyNames.Status or PropertyNames.Protocol or PropertyNames.ControlMode or PropertyNames.PlugConnected:
                        properties.Add(new ReadingField(KnownKey(PropertyKeys, key), reader.TakeRawValue()));
                        break;
                    case SiteIdKey:
                        siteId = ReadId(ref reader);
                        break;
                    case DeviceIdKey:
                        deviceId = ReadId(ref reader);
                        break;
                    case DerIdKey:
                        derId = ReadId(ref reader);
                        break;
                    default:
                        if (AllByKeySpan.TryGetValue(key, out var field))
                        {
                            // Resolved once the type is known: the same key can mean another quantity per type (V, A).
                            var before = numbers.Count;
                            reader.ReadNumeric(field, field.Key, numbers, errors);
                            if (numbers.Count > before)
                            {
                                keys.Add(field.Key);
                            }
                        }
                        else if (IsSkipped(skip, key))
                        {
                            reader.SkipValue();
                        }
                        else
                        {
                            extras.Add(new ReadingField(key.ToString(), reader.TakeRawValue()));
                        }

                        break;
                }
            }

            reader.ExpectEnd();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw TelemetryFormatException.Malformed(e);
        }

        if (type is null && !errors.Exists(e => e.StartsWith("'type'", StringComparison.Ordinal)))
        {
            errors.Add("'type' is missing");
        }

        if (timestamp is null && !errors.Exists(e => e.StartsWith("'timestamp'", StringComparison.Ordinal)))
        {
            errors.Add("'timestamp' is missing");
        }

        TelemetryFormatException.ThrowIfAny(errors);
        carried = new CarriedIds(siteId, deviceId, derId);

        var byType = ByType[type!.Value];
        var measurements = new Measurement[numbers.Count];
        for (var i = 0; i < numbers.Count; i++)
        {
            measurements[i] = byType.TryGetValue(keys[i], out var typed) ? numbers[i] with { Quantity = typed.Quantity } : numbers[i];
        }

        return Reading.Owning(der, type.Value, timestamp!.Value, readTime, measurements, properties, extras, FormatName);
    }

    // The lists one parse fills, this thread's and reused (issue 31: five new lists a pushed reading, and the copies they
    // grew through, were most of its garbage); the reading takes copies of what it keeps.
    private sealed class ParseLists
    {
        [ThreadStatic]
        private static ParseLists? t_free;

        public readonly List<Measurement> Numbers = new(32);
        public readonly List<string> Keys = new(32);
        public readonly List<ReadingField> Properties = new(4);
        public readonly List<ReadingField> Extras = new(8);
        public readonly List<string> Errors = new(4);

        public static ParseLists Take()
        {
            var lists = t_free ?? new ParseLists();
            t_free = null;
            return lists;
        }

        public static void Return(ParseLists lists)
        {
            lists.Numbers.Clear();
            lists.Keys.Clear();
            lists.Properties.Clear();
            lists.Extras.Clear();
            lists.Errors.Clear();
            t_free = lists;
        }
    }

    // An address member's id; null where it is not a string.
    private static string? ReadId(ref JsonObjectReader reader)
    {
        var id = reader.GetStringOrNull();
        if (id is null)
        {
            reader.SkipValue();
        }

        return id;
    }

    // The table's own string for a key known to be in it (no new string per member).
    private static string KnownKey(string[] keys, ReadOnlySpan<char> key) =>
        Find(keys, key) ?? throw new ArgumentException("not a known key", nameof(key));

    private static bool IsSkipped(ReadOnlySpan<string> skip, ReadOnlySpan<char> key) => Find(skip, key) is not null;

    // The string among strings that equals key, if any.
    private static string? Find(ReadOnlySpan<string> strings, ReadOnlySpan<char> key)
    {
        foreach (var s in strings)
        {
            if (key.SequenceEqual(s))
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>Writes a reading of any type; fields the reading lacks are omitted.</summary>
    public static void Write(Reading reading, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(reading);
        using var rented = JsonWriting.Rent(output);
        var writer = rented.Writer;
        writer.WriteStartObject();
        writer.WriteString("type", reading.Type.ToWireName());
        if (reading.TryGetProperty(PropertyNames.Make, out var make))
        {
            writer.WriteRawField("make", make.RawJson);
        }

        writer.WritePropertyName("timestamp");
        writer.WriteNumberValue(reading.Timestamp);
        if (reading.ReadTimeMs is { } readTime)
        {
            writer.WriteNumber("read_time_ms", readTime);
        }

        writer.WriteString(SiteIdKey, reading.Der.Site);
        writer.WriteString(DeviceIdKey, reading.Der.Device);
        writer.WriteString(DerIdKey, reading.Der.Der);
        var typeFields = FieldsOf(reading.Type);
        foreach (var field in typeFields)
        {
            if (reading.TryGet(field.Quantity, field.Unit, out var v))
            {
                writer.WriteWireNumber(field.Key, v);
            }
        }

        // Values another type's table names (a pv reading that carries Hz, say) are written too, not dropped, unless
        // the type uses that key for something else (a battery's V is its DC voltage, so its AC voltage has no key).
        var others = OthersByType[(int)reading.Type];
        foreach (var m in reading.Measurements)
        {
            if ((uint)m.Quantity < (uint)others.Length && others[(int)m.Quantity] is { } field && Units.TryConvert(m.Value, m.Unit, field.Unit, out var v))
            {
                writer.WriteWireNumber(field.Key, v);
            }
        }

        foreach (var key in PropertyKeys)
        {
            if (reading.TryGetProperty(key, out var p))
            {
                writer.WriteRawField(key, p.RawJson);
            }
        }

        if (reading.ExtrasOrigin == FormatName)
        {
            foreach (var extra in reading.Extras)
            {
                if (extra.Name is not (SiteIdKey or DeviceIdKey or DerIdKey)) // kept as extras before the ids were written
                {
                    writer.WriteRawField(extra.Name, extra.RawJson);
                }
            }
        }

        writer.WriteEndObject();
    }

    public static byte[] ToUtf8(Reading reading)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(reading, buffer);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>The address members a Novacore reading JSON carries; null where absent.</summary>
public readonly record struct CarriedIds(string? Site, string? Device, string? Der);
