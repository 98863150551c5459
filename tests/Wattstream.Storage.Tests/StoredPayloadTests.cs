using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Storage.Tests;

/// <summary>The payload column since schema version 2: only what the other columns do not hold, the reading back to the bit.</summary>
public sealed class StoredPayloadTests
{
    private static readonly DerAddress Der = new("o", "s", "d", "x");

    private static Reading R(DerType type, double? readTime, params Measurement[] measurements) => new(Der, type, 1_767_225_600_123, readTime, measurements);

    public static TheoryData<string, Reading> Readings => new()
    {
        { "meter as the benchmark's", R(DerType.Meter, 20, new(Quantity.ActivePowerImport, 1.234, Unit.Kilowatt), new(Quantity.ActivePowerExport, 0, Unit.Kilowatt), new(Quantity.VoltageL1, 230.1, Unit.Volt), new(Quantity.VoltageL2, 229.8, Unit.Volt), new(Quantity.VoltageL3, 230.4, Unit.Volt), new(Quantity.CurrentL1, 1.2, Unit.Ampere), new(Quantity.EnergyImport, 47.251, Unit.KilowattHour), new(Quantity.EnergyExport, 8.965, Unit.KilowattHour)) },
        { "kW values that do not come back from W exactly", R(DerType.Meter, null, new(Quantity.ActivePower, 0.1 + 0.2, Unit.Kilowatt), new(Quantity.EnergyImport, 1e-320, Unit.KilowattHour), new(Quantity.ActivePowerL1, 123456.789012345, Unit.Kilowatt)) },
        { "negative zero and a repeated quantity", R(DerType.Meter, 0, new(Quantity.VoltageL1, -0.0, Unit.Volt), new(Quantity.VoltageL2, 231, Unit.Volt), new(Quantity.VoltageL2, 232, Unit.Volt), new(Quantity.ActivePower, -0.0, Unit.Watt)) },
        { "battery", R(DerType.Battery, 3.5, new(Quantity.StateOfCharge, 64, Unit.Percent), new(Quantity.EnergyCharged, 12.5, Unit.KilowattHour), new(Quantity.EnergyDischarged, 3, Unit.WattHour), new(Quantity.ActivePower, -1500, Unit.Watt), new(Quantity.Temperature, 21.5, Unit.Celsius)) },
        { "pv: generation is export, import has no column", R(DerType.Pv, null, new(Quantity.EnergyGenerated, 9876.5, Unit.KilowattHour), new(Quantity.EnergyImport, 4, Unit.KilowattHour), new(Quantity.ActivePower, -2000, Unit.Watt)) },
        { "charger, extreme values", R(DerType.V2xCharger, null, new(Quantity.ActivePower, -double.MaxValue, Unit.Watt), new(Quantity.CurrentL1, double.MaxValue, Unit.Ampere), new(Quantity.CurrentL2, double.Epsilon, Unit.Ampere)) },
        { "no measurements", R(DerType.Meter, null) },
        {
            "properties, extras and origin",
            new Reading(Der, DerType.Meter, 1_767_225_600_000, 12.5,
                [new Measurement(Quantity.ActivePowerImport, 0.036, Unit.Kilowatt), new Measurement(Quantity.ActiveTariff, 2, Unit.None)],
                [new ReadingField(PropertyNames.LocalDate, "\"2026-01-01\""u8.ToArray()), new ReadingField("ünïcode", "\"ä€\""u8.ToArray())],
                [new ReadingField("Foo", "{\"a\":[1,2]}"u8.ToArray()), new ReadingField(new string('n', 300), new byte[1000].Select(_ => (byte)'1').ToArray())],
                "whatwatt")
        },
    };

    // What a column gives back: SQLite keeps NaN as NULL and an integral REAL as an integer (−0 comes back as 0).
    /// <summary>The payload <see cref="StoredPayload.Write"/> gives a reading whose columns hold <paramref name="columns"/>.</summary>
    internal static byte[] PayloadOf(Reading reading, double?[] columns)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        StoredPayload.Write(reading, columns, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static double?[] ColumnsAsStored(Reading reading) =>
        HistoryFields.All.Select(f => f.ValueOf(reading) is { } v && !double.IsNaN(v) ? (v == 0 ? 0.0 : v) : (double?)null).ToArray();

    [Theory]
    [MemberData(nameof(Readings))]
    public void A_reading_comes_back_from_its_payload_and_columns_the_same_to_the_byte(string shape, Reading reading)
    {
        var columns = ColumnsAsStored(reading);
        var payload = PayloadOf(reading, HistoryFields.All.Select(f => f.ValueOf(reading)).ToArray());

        var back = StoredPayload.Read(payload, Der, reading.Timestamp, columns);

        Assert.False(StoredPayload.IsJson(payload), shape);
        Assert.Equal(ReadingJson.ToUtf8(reading), ReadingJson.ToUtf8(back));
        Assert.Equal(reading.Measurements.Select(m => BitConverter.DoubleToInt64Bits(m.Value)), back.Measurements.Select(m => BitConverter.DoubleToInt64Bits(m.Value)));
        Assert.Equal(reading.Properties.Select(p => p.RawText), back.Properties.Select(p => p.RawText));
        Assert.Equal(reading.Extras.Select(p => p.Name + p.RawText), back.Extras.Select(p => p.Name + p.RawText));
    }

    [Fact]
    public void What_the_columns_hold_is_left_out()
    {
        var meter = (Reading)Readings.ElementAt(0)[1];

        var payload = PayloadOf(meter, HistoryFields.All.Select(f => f.ValueOf(meter)).ToArray());

        // Marker, type, flags, read time (8), count, eight quantity/unit pairs, and only import and export power as
        // values (their net is the w column): 47 bytes, against 305 of the JSON form.
        Assert.Equal(3 + 8 + 1 + (8 * 2) + (2 * 8), payload.Length);
        Assert.Equal(325, ReadingJson.ToUtf8(meter).Length);
    }

    [Fact]
    public void A_value_the_column_would_not_give_back_exactly_is_kept_in_the_payload()
    {
        var reading = R(DerType.Meter, null, new Measurement(Quantity.VoltageL1, -0.0, Unit.Volt));

        var payload = PayloadOf(reading, [.. HistoryFields.All.Select(f => f.ValueOf(reading))]);

        Assert.Equal(3 + 1 + 2 + 8, payload.Length);
    }

    [Fact]
    public void A_json_payload_of_a_row_written_before_version_2_is_read_as_it_is()
    {
        var meter = (Reading)Readings.ElementAt(0)[1];
        var json = ReadingJson.ToUtf8(meter);

        var back = StoredPayload.Read(json, Der, 0, new double?[HistoryFields.All.Count]); // its columns are not needed

        Assert.True(StoredPayload.IsJson(json));
        Assert.Equal(json, ReadingJson.ToUtf8(back));
    }

    [Fact]
    public void A_damaged_payload_is_a_format_error_not_a_crash()
    {
        var meter = (Reading)Readings.ElementAt(0)[1];
        var columns = HistoryFields.All.Select(f => f.ValueOf(meter)).ToArray();
        var payload = PayloadOf(meter, columns);

        Assert.Throws<TelemetryFormatException>(() => StoredPayload.Read(payload[..^3], Der, 0, columns));
        Assert.Throws<TelemetryFormatException>(() => StoredPayload.Read([.. payload, 0], Der, 0, columns));
        Assert.Throws<TelemetryFormatException>(() => StoredPayload.Read(payload, Der, 0, new double?[columns.Length])); // its columns are NULL
        Assert.Throws<TelemetryFormatException>(() => StoredPayload.Read([0x02, .. payload[1..]], Der, 0, columns));
        Assert.Throws<TelemetryFormatException>(() => StoredPayload.Read([0x01, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F], Der, 0, columns));
    }

    [Fact]
    public void Quantities_units_and_types_keep_the_numbers_stored_payloads_hold()
    {
        // The payload stores these by number: new members go at the end, none is removed or moved.
        string[] quantities =
        [
            "ActivePower", "ActivePowerL1", "ActivePowerL2", "ActivePowerL3", "ActivePowerImport", "ActivePowerImportL1", "ActivePowerImportL2",
            "ActivePowerImportL3", "ActivePowerExport", "ActivePowerExportL1", "ActivePowerExportL2", "ActivePowerExportL3", "MaxDemandImport",
            "MaxDemandImportT1", "MaxDemandImportT2", "ReactivePower", "ReactivePowerImport", "ReactivePowerImportL1", "ReactivePowerImportL2",
            "ReactivePowerImportL3", "ReactivePowerExport", "ReactivePowerExportL1", "ReactivePowerExportL2", "ReactivePowerExportL3", "ApparentPower",
            "PowerFactor", "PowerAngle", "Voltage", "VoltageL1", "VoltageL2", "VoltageL3", "VoltageLineToLine", "Current", "CurrentL1", "CurrentL2",
            "CurrentL3", "Frequency", "EnergyImport", "EnergyImportT1", "EnergyImportT2", "EnergyExport", "EnergyExportT1", "EnergyExportT2",
            "ReactiveEnergyImport", "ReactiveEnergyExport", "ReactiveEnergyImportedInductive", "ReactiveEnergyImportedCapacitive",
            "ReactiveEnergyExportedInductive", "ReactiveEnergyExportedCapacitive", "ActiveTariff", "Uptime", "RatedPower", "PowerLowerLimit",
            "PowerUpperLimit", "Mppt1Voltage", "Mppt1Current", "Mppt2Voltage", "Mppt2Current", "HeatsinkTemperature", "Temperature",
            "EnergyGenerated", "StateOfCharge", "StateOfHealth", "EnergyCharged", "EnergyDischarged", "AvailableChargeEnergy",
            "AvailableDischargeEnergy", "DcPower", "DcVoltage", "DcCurrent", "VehicleStateOfCharge", "EvTargetEnergyRequest", "EvMaxEnergyRequest",
            "EvMinEnergyRequest", "SessionEnergyCharged", "SessionEnergyDischarged", "Capacity", "SocReserveMin", "SocReserveMax", "SocMin", "SocMax",
            "PqActivePower", "PqReactivePower", "PqApparentPower", "RemainingCredit",
        ];
        string[] units = ["None", "Watt", "Kilowatt", "WattHour", "KilowattHour", "Var", "Kilovar", "VarHour", "KilovarHour", "VoltAmpere", "KilovoltAmpere", "Volt", "Ampere", "Hertz", "Celsius", "Fraction", "Percent", "Hour", "Degree"];

        Assert.Equal(quantities, Enum.GetNames<Quantity>().Take(quantities.Length));
        Assert.Equal(units, Enum.GetNames<Unit>().Take(units.Length));
        Assert.Equal(["Meter", "Pv", "Battery", "V2xCharger"], Enum.GetNames<DerType>().Take(4));
    }
}
