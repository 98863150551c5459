using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

public class WhatwattReportTests
{
    private const string Report =
        """{"report":{"id":5,"interval":0.997,"tariff":2,"date_time_utc":"2026-01-02T03:04:05Z","instantaneous_power":{"active":{"positive":{"total":1.2,"l1":0.4},"negative":{"total":0}}},"voltage":{"l1":231.5},"energy":{"active":{"positive":{"total":100.5,"t1":60,"t2":40.5}}},"power_factor":0.97},"meter":{"status":"OK"},"system":{"id":"A842E3B1C0D4"}}""";

    [Fact]
    public void A_report_becomes_a_meter_reading_at_its_utc_time()
    {
        var r = WhatwattReport.Parse(Samples.Utf8(Report), Samples.Meter, 0);

        Assert.Equal(DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), r.Timestamp);
        Assert.Equal(1200, r.Get(Quantity.ActivePower, Unit.Watt)!.Value, 9);
        Assert.Equal(231.5, r.Get(Quantity.VoltageL1, Unit.Volt));
        Assert.Equal(40.5, r.Get(Quantity.EnergyImportT2, Unit.KilowattHour));
        Assert.Equal(2, r.Get(Quantity.ActiveTariff, Unit.None));
        Assert.Null(r.Get(Quantity.VoltageL2, Unit.Volt));
    }

    [Theory]
    [InlineData("""{"report":{"voltage":{"l1":"x"}},"meter":{"status":"OK"}}""", "'report.voltage.l1' must be a finite number")]
    [InlineData("""{"report":{"voltage":{"l1":230}},"meter":{"status":"NO DATA"}}""", "the meter status is 'NO DATA', not OK: its values are not trustworthy")]
    [InlineData("""{"meter":{}}""", "'report' is missing")]
    public void Bad_reports_are_rejected(string json, string expected)
    {
        var e = Assert.Throws<TelemetryFormatException>(() => WhatwattReport.Parse(Samples.Utf8(json), Samples.Meter, 0));

        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void A_written_report_reads_back_to_the_same_values()
    {
        var live = WhatwattLive.Parse(Samples.Utf8(Samples.WhatwattLive), Samples.Meter, 1_724_502_840_000);
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["report"] = WhatwattReport.ToReportObject(live, 7, TimeSpan.FromSeconds(1), TimeZoneInfo.Utc),
            ["meter"] = new System.Text.Json.Nodes.JsonObject { ["status"] = "OK" },
        };

        var back = WhatwattReport.Parse(System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()), Samples.Meter, 0);

        Assert.Equal(live.Timestamp, back.Timestamp);
        foreach (var q in new[] { Quantity.ActivePowerImport, Quantity.VoltageL3, Quantity.EnergyImportT1, Quantity.EnergyExport, Quantity.ActiveTariff })
        {
            Assert.Equal(live.Get(q, Unit.Watt) ?? live.Get(q, Unit.Volt) ?? live.Get(q, Unit.WattHour) ?? live.Get(q, Unit.None),
                back.Get(q, Unit.Watt) ?? back.Get(q, Unit.Volt) ?? back.Get(q, Unit.WattHour) ?? back.Get(q, Unit.None));
        }
    }
}
