using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Wattstream.Telemetry.Formats;

/// <summary>
/// The DER simulator's overview snapshot (<c>GET /api/dersim/overview</c>, and each WebSocket telemetry message):
/// nested <c>metrics</c>, <c>pq</c> and <c>status</c> objects plus device descriptors. Power is in kW with the
/// simulator's generator convention (positive = delivered to the grid); readings use Novacore's, so pv and battery
/// power change sign on the way in and out, and an EVSE's does not.
/// </summary>
public static class DerSimOverview
{
    public const string FormatName = "dersim";

    // DERSim-specific descriptors, kept under namespaced property names so they round-trip.
    public const string StatusProperty = "dersim.status";
    public const string ClockTimeProperty = "dersim.clock_time";
    public const string DcModeProperty = "dersim.dc_mode";
    public const string DcPortCountProperty = "dersim.dc_port_count";
    public const string DeviceTypeProperty = "dersim.device_type";
    public const string DeviceProfileNameProperty = "dersim.device_profile_name";
    public const string AssetTypeProperty = "dersim.asset_type";
    public const string DeviceIndexProperty = "dersim.device_index";
    public const string MetricsTimestampProperty = "dersim.metrics.timestamp";

    private static readonly NumericField PowerKw = new("power_kw", Quantity.ActivePower, Unit.Kilowatt);

    internal static readonly NumericField[] MetricFields =
    [
        PowerKw,
        new("reactive_power_kvar", Quantity.ReactivePower, Unit.Kilovar),
        new("apparent_power_kva", Quantity.ApparentPower, Unit.KilovoltAmpere),
        new("voltage_ll_v", Quantity.VoltageLineToLine, Unit.Volt),
        new("voltage_ln_v", Quantity.Voltage, Unit.Volt),
        new("current_a", Quantity.Current, Unit.Ampere),
        new("frequency_hz", Quantity.Frequency, Unit.Hertz),
        new("power_factor", Quantity.PowerFactor, Unit.None),
        new("dc_power_kw", Quantity.DcPower, Unit.Kilowatt),
        new("dc_voltage_v", Quantity.DcVoltage, Unit.Volt),
        new("dc_current_a", Quantity.DcCurrent, Unit.Ampere),
        new("state_of_charge_pct", Quantity.StateOfCharge, Unit.Percent),
        new("soc_reserve_min_pct", Quantity.SocReserveMin, Unit.Percent),
        new("soc_reserve_max_pct", Quantity.SocReserveMax, Unit.Percent),
        new("soc_min_pct", Quantity.SocMin, Unit.Percent),
        new("soc_max_pct", Quantity.SocMax, Unit.Percent),
    ];

    internal static readonly NumericField[] PqFields =
    [
        new("active_kw", Quantity.PqActivePower, Unit.Kilowatt),
        new("reactive_kvar", Quantity.PqReactivePower, Unit.Kilovar),
        new("apparent_kva", Quantity.PqApparentPower, Unit.KilovoltAmpere),
        new("angle_deg", Quantity.PowerAngle, Unit.Degree),
    ];

    private static readonly Dictionary<string, NumericField> MetricsByKey = MetricFields.ToLookup();
    private static readonly Dictionary<string, NumericField> PqByKey = PqFields.ToLookup();

    private static readonly (string Key, string Property)[] Descriptors =
    [
        ("clock_time", ClockTimeProperty),
        ("dc_mode", DcModeProperty),
        ("dc_port_count", DcPortCountProperty),
        ("device_type", DeviceTypeProperty),
        ("device_profile_name", DeviceProfileNameProperty),
        ("asset_type", AssetTypeProperty),
        ("device_index", DeviceIndexProperty),
    ];

    /// <summary>Which reading type a DERSim asset becomes. Wind, fuel cell and hybrid-DC generators are read as pv (generation).</summary>
    public static DerType? TypeOfAsset(string? assetType) => assetType switch
    {
        "pv" or "wind" or "fuelcell" or "hybrid-dc" => DerType.Pv,
        "battery" => DerType.Battery,
        "evse" => DerType.V2xCharger,
        _ => null,
    };

    /// <summary>+1 when the reading convention matches the simulator's, −1 when it is the opposite.</summary>
    private static double PowerSign(DerType type) => type == DerType.V2xCharger ? 1 : -1;

    /// <summary>
    /// Converts one snapshot. The reading's time is <c>metrics.timestamp</c> when it is an ISO-8601 time with an offset,
    /// otherwise <paramref name="fallbackTimestamp"/>.
    /// </summary>
    public static Reading Parse(ReadOnlySpan<byte> json, DerAddress der, long fallbackTimestamp)
    {
        var metrics = new List<Measurement>(24);
        var properties = new List<ReadingField>(10);
        var extras = new List<ReadingField>();
        var errors = new List<string>();
        string? assetType = null;
        string? metricsTimestamp = null;
        try
        {
            var reader = new JsonObjectReader(json);
            reader.ExpectObjectStart("a DERSim snapshot");
            while (reader.NextMember(out var key))
            {
                switch (key)
                {
                    case "metrics":
                        ReadNested(ref reader, key, MetricsByKey, metrics, extras, errors, (ref JsonObjectReader r, string k) =>
                        {
                            if (k != "timestamp")
                            {
                                return false;
                            }

                            var raw = r.TakeRawValue();
                            properties.Add(new ReadingField(MetricsTimestampProperty, raw));
                            metricsTimestamp = JsonSerializer.Deserialize<string>(raw.Span);
                            return true;
                        });
                        break;
                    case "pq":
                        ReadNested(ref reader, key, PqByKey, metrics, extras, errors, null);
                        break;
                    case "status":
                        properties.Add(new ReadingField(StatusProperty, reader.TakeRawValue()));
                        break;
                    default:
                        var descriptor = Array.Find(Descriptors, d => d.Key == key);
                        if (descriptor.Property is null)
                        {
                            extras.Add(new ReadingField(key, reader.TakeRawValue()));
                        }
                        else
                        {
                            if (key == "asset_type")
                            {
                                assetType = reader.GetStringOrNull();
                            }

                            properties.Add(new ReadingField(descriptor.Property, reader.TakeRawValue()));
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

        var type = TypeOfAsset(assetType);
        if (type is null)
        {
            errors.Add($"'asset_type' must be one of pv, battery, evse, wind, fuelcell, hybrid-dc (was {(assetType is null ? "missing" : $"'{assetType}'")})");
        }

        TelemetryFormatException.ThrowIfAny(errors);

        var sign = PowerSign(type!.Value);
        for (var i = 0; i < metrics.Count; i++)
        {
            if (metrics[i].Quantity == Quantity.ActivePower)
            {
                metrics[i] = metrics[i] with { Value = sign * metrics[i].Value };
            }
        }

        var timestamp = metricsTimestamp is not null
            && DateTimeOffset.TryParse(metricsTimestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t.ToUnixTimeMilliseconds()
                : fallbackTimestamp;
        return new Reading(der, type.Value, timestamp, null, metrics, properties, extras, FormatName);
    }

    private delegate bool SpecialMember(ref JsonObjectReader reader, string key);

    private static void ReadNested(
        ref JsonObjectReader reader,
        string objectKey,
        Dictionary<string, NumericField> fields,
        List<Measurement> measurements,
        List<ReadingField> extras,
        List<string> errors,
        SpecialMember? special)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            errors.Add($"'{objectKey}' must be an object");
            reader.SkipValue();
            return;
        }

        while (reader.NextMember(out var key))
        {
            if (fields.TryGetValue(key, out var field))
            {
                reader.ReadNumeric(field, $"{objectKey}.{key}", measurements, errors);
            }
            else if (special is null || !special(ref reader, key))
            {
                extras.Add(new ReadingField($"{objectKey}.{key}", reader.TakeRawValue()));
            }
        }
    }

    /// <summary>Whether a reading of this type has a DERSim shape (meters do not).</summary>
    public static bool CanWrite(DerType type) => type != DerType.Meter;

    /// <summary>
    /// Writes a snapshot. Descriptors the reading does not carry are given plausible values for its type;
    /// <paramref name="deviceIndex"/> is the DER's index among the devices served.
    /// </summary>
    public static void Write(Reading reading, IBufferWriter<byte> output, int deviceIndex, TimeZoneInfo? localTime = null)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (!CanWrite(reading.Type))
        {
            throw new ArgumentException("A meter has no DERSim snapshot.", nameof(reading));
        }

        var sign = PowerSign(reading.Type);
        var fromDerSim = reading.ExtrasOrigin == FormatName;
        using var rented = JsonWriting.Rent(output);
        var writer = rented.Writer;
        writer.WriteStartObject();

        var metrics = Metrics(reading, sign);
        writer.WriteStartObject("metrics");
        for (var i = 0; i < MetricFields.Length; i++)
        {
            WriteNumberOrNull(writer, MetricFields[i].Key, metrics[i]);
        }

        if (reading.TryGetProperty(MetricsTimestampProperty, out var ts))
        {
            writer.WriteRawField("timestamp", ts.RawJson);
        }
        else
        {
            writer.WriteString("timestamp", WireTime.Format(reading.Time));
        }

        WriteExtras(writer, reading, fromDerSim, "metrics.");
        writer.WriteEndObject();

        // pq: the simulator's own block when the reading came from one; otherwise the AC side in pq's terms.
        var p = reading.TryGet(Quantity.PqActivePower, Unit.Kilowatt, out var pqp) ? pqp : metrics[MetricIndex.PowerKw];
        var q = reading.TryGet(Quantity.PqReactivePower, Unit.Kilovar, out var pqq) ? pqq : metrics[MetricIndex.ReactiveKvar];
        double? s = reading.TryGet(Quantity.PqApparentPower, Unit.KilovoltAmpere, out var pqs) ? pqs : metrics[MetricIndex.ApparentKva];
        // No current, no angle: atan2(0, -0) is 180°, which an idle inverter's flipped 0 kW would otherwise report.
        double? angle = reading.TryGet(Quantity.PowerAngle, Unit.Degree, out var a) ? a
            : p is { } ap && q is { } aq ? (ap == 0 && aq == 0 ? 0 : Math.Round(Math.Atan2(aq, ap) * 180 / Math.PI, 2)) : null;
        writer.WriteStartObject("pq");
        WriteNumberOrNull(writer, "active_kw", p);
        WriteNumberOrNull(writer, "reactive_kvar", q);
        WriteNumberOrNull(writer, "apparent_kva", s);
        WriteNumberOrNull(writer, "angle_deg", angle);
        WriteExtras(writer, reading, fromDerSim, "pq.");
        writer.WriteEndObject();

        if (reading.TryGetProperty(StatusProperty, out var status))
        {
            writer.WriteRawField("status", status.RawJson);
        }
        else
        {
            writer.WriteStartObject("status");
            writer.WriteString("service_state", "running");
            writer.WriteString("inverter_state", p is { } power && Math.Abs(power) > 0.001 ? "operating" : "standby");
            writer.WriteString("connection_state", "connected");
            writer.WriteEndObject();
        }

        var local = TimeZoneInfo.ConvertTime(reading.Time, localTime ?? TimeZoneInfo.Local);
        WriteDescriptor(writer, reading, "clock_time", ClockTimeProperty, w => w.WriteStringValue(local.ToString("HH:mm:ss", CultureInfo.InvariantCulture)));
        WriteDescriptor(writer, reading, "dc_mode", DcModeProperty, w => w.WriteStringValue(reading.Type switch
        {
            DerType.Pv => "pv",
            DerType.Battery => "battery",
            _ => "none",
        }));
        WriteDescriptor(writer, reading, "dc_port_count", DcPortCountProperty, w => w.WriteNumberValue(reading.Type switch
        {
            DerType.Pv => reading.TryGetRaw(Quantity.Mppt2Voltage, out _) ? 2 : 1,
            DerType.Battery => 1,
            _ => 0,
        }));
        WriteDescriptor(writer, reading, "device_type", DeviceTypeProperty, w => w.WriteStringValue(reading.Type switch
        {
            DerType.Pv => "PV-3Phase",
            DerType.Battery => "Batt",
            _ => "EVSE",
        }));
        WriteDescriptor(writer, reading, "device_profile_name", DeviceProfileNameProperty, w =>
        {
            if (reading.Type == DerType.V2xCharger && reading.TryGet(Quantity.RatedPower, Unit.Kilowatt, out var rated))
            {
                w.WriteStringValue(string.Create(CultureInfo.InvariantCulture, $"EVSE-AC-{rated:0.#}kW-1port"));
            }
            else
            {
                w.WriteNullValue();
            }
        });
        WriteDescriptor(writer, reading, "asset_type", AssetTypeProperty, w => w.WriteStringValue(reading.Type switch
        {
            DerType.Pv => "pv",
            DerType.Battery => "battery",
            _ => "evse",
        }));
        writer.WriteNumber("device_index", deviceIndex);
        WriteExtras(writer, reading, fromDerSim, null);
        writer.WriteEndObject();
    }

    // Positions in MetricFields of the values other keys are derived from.
    private static class MetricIndex
    {
        public const int PowerKw = 0;
        public const int ReactiveKvar = 1;
        public const int ApparentKva = 2;
        public const int VoltageLl = 3;
        public const int VoltageLn = 4;
        public const int CurrentA = 5;
        public const int PowerFactor = 7;
        public const int DcPowerKw = 8;
        public const int DcVoltage = 9;
        public const int DcCurrent = 10;
    }

    /// <summary>
    /// Every metric of <see cref="MetricFields"/>: the reading's value, else one derived from the others with the AC
    /// identities (S² = P² + Q², PF = P/S, V_LL = √3·V_LN, I = S / (3·V_LN) for a three-phase inverter) and P_DC = V·I on
    /// the DC side; null where neither exists (a PV inverter has no state of charge).
    /// </summary>
    private static double?[] Metrics(Reading reading, double sign)
    {
        var values = new double?[MetricFields.Length];
        for (var i = 0; i < MetricFields.Length; i++)
        {
            var field = MetricFields[i];
            if (reading.TryGet(field.Quantity, field.Unit, out var v))
            {
                values[i] = field.Quantity == Quantity.ActivePower ? sign * v : v;
            }
        }

        const int Digits = 3;
        var sqrt3 = Math.Sqrt(3);
        if (values[MetricIndex.ApparentKva] is null && values[MetricIndex.PowerKw] is { } p1 && values[MetricIndex.ReactiveKvar] is { } q1)
        {
            values[MetricIndex.ApparentKva] = Math.Round(Math.Sqrt((p1 * p1) + (q1 * q1)), Digits);
        }

        if (values[MetricIndex.ReactiveKvar] is null && values[MetricIndex.PowerKw] is { } p2 && values[MetricIndex.ApparentKva] is { } s2 && s2 >= Math.Abs(p2))
        {
            values[MetricIndex.ReactiveKvar] = Math.Round(Math.Sqrt((s2 * s2) - (p2 * p2)), Digits);
        }

        if (values[MetricIndex.PowerFactor] is null && values[MetricIndex.PowerKw] is { } p3 && values[MetricIndex.ApparentKva] is { } s3)
        {
            values[MetricIndex.PowerFactor] = s3 > 0 ? Math.Round(p3 / s3, Digits) : 1; // an idle inverter is at unity
        }

        if (values[MetricIndex.VoltageLl] is null && values[MetricIndex.VoltageLn] is { } ln)
        {
            values[MetricIndex.VoltageLl] = Math.Round(ln * sqrt3, 1);
        }
        else if (values[MetricIndex.VoltageLn] is null && values[MetricIndex.VoltageLl] is { } ll)
        {
            values[MetricIndex.VoltageLn] = Math.Round(ll / sqrt3, 1);
        }

        if (values[MetricIndex.CurrentA] is null && values[MetricIndex.ApparentKva] is { } s4 && values[MetricIndex.VoltageLn] is { } vln && vln > 0)
        {
            values[MetricIndex.CurrentA] = Math.Round(s4 * 1000 / (3 * vln), 2);
        }

        if (values[MetricIndex.DcPowerKw] is null && values[MetricIndex.DcVoltage] is { } dv && values[MetricIndex.DcCurrent] is { } da)
        {
            values[MetricIndex.DcPowerKw] = Math.Round(dv * da / 1000, Digits);
        }

        return values;
    }

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string key, double? value)
    {
        if (value is { } v)
        {
            writer.WriteWireNumber(key, v);
        }
        else
        {
            writer.WriteNull(key);
        }
    }

    public static byte[] ToUtf8(Reading reading, int deviceIndex, TimeZoneInfo? localTime = null)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        Write(reading, buffer, deviceIndex, localTime);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteDescriptor(Utf8JsonWriter writer, Reading reading, string key, string property, Action<Utf8JsonWriter> fallback)
    {
        if (reading.TryGetProperty(property, out var raw))
        {
            writer.WriteRawField(key, raw.RawJson);
        }
        else
        {
            writer.WritePropertyName(key);
            fallback(writer);
        }
    }

    // Unknown fields go back to the object they came from: "metrics.x" into metrics, a plain name at the top.
    private static void WriteExtras(Utf8JsonWriter writer, Reading reading, bool fromDerSim, string? prefix)
    {
        if (!fromDerSim)
        {
            return;
        }

        foreach (var extra in reading.Extras)
        {
            var nested = extra.Name.StartsWith("metrics.", StringComparison.Ordinal) || extra.Name.StartsWith("pq.", StringComparison.Ordinal);
            if (prefix is null && !nested)
            {
                writer.WriteRawField(extra.Name, extra.RawJson);
            }
            else if (prefix is not null && extra.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                writer.WriteRawField(extra.Name[prefix.Length..], extra.RawJson);
            }
        }
    }
}
