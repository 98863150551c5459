namespace Wattstream.Telemetry;

/// <summary>
/// The one internal shape of a reading. Values are kept in the unit the source sent them in; <see cref="TryGet"/>
/// converts, and derives what a wire format needs from what the source gave (net power from import and export,
/// and the reverse). A field the source did not send is absent, never zero.
/// </summary>
public sealed class Reading
{
    private readonly Measurement[] _measurements;
    private readonly ReadingField[] _properties;
    private readonly ReadingField[] _extras;

    private Reading(DerAddress der, DerType type, long timestamp, double? readTimeMs, Measurement[] measurements, ReadingField[] properties, ReadingField[] extras, string? extrasOrigin)
    {
        Der = der;
        Type = type;
        Timestamp = timestamp;
        ReadTimeMs = readTimeMs;
        _measurements = measurements;
        _properties = properties;
        _extras = extras;
        ExtrasOrigin = extrasOrigin;
    }

    public Reading(
        DerAddress der,
        DerType type,
        long timestamp,
        double? readTimeMs,
        IEnumerable<Measurement> measurements,
        IEnumerable<ReadingField>? properties = null,
        IEnumerable<ReadingField>? extras = null,
        string? extrasOrigin = null)
    {
        ArgumentNullException.ThrowIfNull(der);
        ArgumentNullException.ThrowIfNull(measurements);
        Der = der;
        Type = type;
        Timestamp = timestamp;
        ReadTimeMs = readTimeMs;
        _measurements = measurements.ToArray();
        _properties = properties?.ToArray() ?? [];
        _extras = extras?.ToArray() ?? [];
        ExtrasOrigin = _extras.Length > 0 ? extrasOrigin : null;
    }

    /// <summary>A reading that owns <paramref name="measurements"/> (not copied): for converters in this assembly.</summary>
    internal static Reading Owning(DerAddress der, DerType type, long timestamp, double? readTimeMs, Measurement[] measurements, List<ReadingField> properties, List<ReadingField> extras, string? extrasOrigin) =>
        new(der, type, timestamp, readTimeMs, measurements, properties.Count == 0 ? [] : properties.ToArray(), extras.Count == 0 ? [] : extras.ToArray(), extras.Count > 0 ? extrasOrigin : null);

    public DerAddress Der { get; }

    /// <summary>The same reading at another time (the device's own clock, say); values are shared, not copied.</summary>
    public Reading WithTimestamp(long timestamp) => new(Der, Type, timestamp, ReadTimeMs, _measurements, _properties, _extras, ExtrasOrigin);

    /// <summary>The same reading under another DER address.</summary>
    public Reading WithDer(DerAddress der) => new(der, Type, Timestamp, ReadTimeMs, _measurements, _properties, _extras, ExtrasOrigin);

    public DerType Type { get; }

    /// <summary>Unix epoch milliseconds at the start of the read.</summary>
    public long Timestamp { get; }

    /// <summary>How long the read took, when the source says.</summary>
    public double? ReadTimeMs { get; }

    public IReadOnlyList<Measurement> Measurements => _measurements;

    /// <summary>Known non-numeric fields under wire-neutral names (see <see cref="PropertyNames"/>).</summary>
    public IReadOnlyList<ReadingField> Properties => _properties;

    /// <summary>Fields the converter did not know, kept as they came, to be passed on to clients of the same wire format.</summary>
    public IReadOnlyList<ReadingField> Extras => _extras;

    /// <summary>The wire format the extras came in (e.g. the whatwatt live format); null when there are none.</summary>
    public string? ExtrasOrigin { get; }

    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(Timestamp);

    /// <summary>The value exactly as stored, in its stored unit.</summary>
    public bool TryGetRaw(Quantity quantity, out Measurement measurement)
    {
        foreach (ref readonly var m in _measurements.AsSpan())
        {
            if (m.Quantity == quantity)
            {
                measurement = m;
                return true;
            }
        }

        measurement = default;
        return false;
    }

    /// <summary>The value in the unit asked for, stored or derived from what is stored.</summary>
    public bool TryGet(Quantity quantity, Unit unit, out double value)
    {
        if (TryGetRaw(quantity, out var m))
        {
            return Units.TryConvert(m.Value, m.Unit, unit, out value);
        }

        return TryDerive(quantity, unit, out value);
    }

    public double? Get(Quantity quantity, Unit unit) => TryGet(quantity, unit, out var v) ? v : null;

    public bool TryGetProperty(string name, out ReadingField field)
    {
        foreach (var p in _properties)
        {
            if (p.Name == name)
            {
                field = p;
                return true;
            }
        }

        field = default;
        return false;
    }

    private bool TryDerive(Quantity quantity, Unit unit, out double value)
    {
        value = double.NaN;
        switch (quantity)
        {
            case Quantity.ActivePower: return TryNet(Quantity.ActivePowerImport, Quantity.ActivePowerExport, unit, out value);
            case Quantity.ActivePowerL1: return TryNet(Quantity.ActivePowerImportL1, Quantity.ActivePowerExportL1, unit, out value);
            case Quantity.ActivePowerL2: return TryNet(Quantity.ActivePowerImportL2, Quantity.ActivePowerExportL2, unit, out value);
            case Quantity.ActivePowerL3: return TryNet(Quantity.ActivePowerImportL3, Quantity.ActivePowerExportL3, unit, out value);
            case Quantity.ActivePowerImport: return TrySide(Quantity.ActivePower, +1, unit, out value);
            case Quantity.ActivePowerImportL1: return TrySide(Quantity.ActivePowerL1, +1, unit, out value);
            case Quantity.ActivePowerImportL2: return TrySide(Quantity.ActivePowerL2, +1, unit, out value);
            case Quantity.ActivePowerImportL3: return TrySide(Quantity.ActivePowerL3, +1, unit, out value);
            case Quantity.ActivePowerExport: return TrySide(Quantity.ActivePower, -1, unit, out value);
            case Quantity.ActivePowerExportL1: return TrySide(Quantity.ActivePowerL1, -1, unit, out value);
            case Quantity.ActivePowerExportL2: return TrySide(Quantity.ActivePowerL2, -1, unit, out value);
            case Quantity.ActivePowerExportL3: return TrySide(Quantity.ActivePowerL3, -1, unit, out value);
            case Quantity.ReactivePower: return TryNet(Quantity.ReactivePowerImport, Quantity.ReactivePowerExport, unit, out value);
            default: return false;
        }
    }

    // Net = import − export, only when the source gave at least one side and the reading has no net value of its own.
    private bool TryNet(Quantity import, Quantity export, Unit unit, out double value)
    {
        var hasImport = TryGetRaw(import, out var i);
        var hasExport = TryGetRaw(export, out var e);
        value = 0;
        if (!hasImport && !hasExport)
        {
            return false;
        }

        if (hasImport && Units.TryConvert(i.Value, i.Unit, unit, out var iv))
        {
            value += iv;
        }

        if (hasExport && Units.TryConvert(e.Value, e.Unit, unit, out var ev))
        {
            value -= ev;
        }

        return true;
    }

    // Import = max(net, 0), export = max(−net, 0): a meter's registers from a signed value.
    private bool TrySide(Quantity net, int sign, Unit unit, out double value)
    {
        value = 0;
        if (Type != DerType.Meter || !TryGetRaw(net, out var n) || !Units.TryConvert(n.Value, n.Unit, unit, out var nv))
        {
            return false;
        }

        value = Math.Max(sign * nv, 0);
        return true;
    }

    public override string ToString() => $"{Type.ToWireName()} {Der.Der} @{Timestamp} ({_measurements.Length} values)";
}

/// <summary>Wire-neutral names of the known non-numeric fields.</summary>
public static class PropertyNames
{
    public const string Make = "make";
    public const string LocalDate = "local_date";
    public const string LocalTime = "local_time";
    public const string Volume = "volume";
    public const string Status = "status";
    public const string Protocol = "protocol";
    public const string ControlMode = "control_mode";
    public const string PlugConnected = "plug_connected";
}
