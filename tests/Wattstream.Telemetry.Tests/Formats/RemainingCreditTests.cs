using System.Buffers;
using System.Text.Json.Nodes;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

public class RemainingCreditTests
{
    private static JsonNode Hes(Reading r)
    {
        var buffer = new ArrayBufferWriter<byte>();
        HesRealtime.Write(r, buffer);
        return JsonNode.Parse(buffer.WrittenSpan)!;
    }

    private static Reading Meter(params Measurement[] values) => new(Samples.Meter, DerType.Meter, 1_765_000_000_000, null, values);

    [Theory]
    [InlineData(250, "250.00")]
    [InlineData(7.5, "7.50")]
    [InlineData(0.004, "0.00")]
    [InlineData(-0.004, "0.00")]
    [InlineData(-12.3, "-12.30")]
    public void Hes_writes_the_credit_with_two_decimals_and_no_unit_as_the_seed(double credit, string expected)
    {
        var json = Hes(Meter(new Measurement(Quantity.RemainingCredit, credit, Unit.None), new Measurement(Quantity.Frequency, 50, Unit.Hertz)));

        Assert.Equal(expected, (string?)json["Remaining Credit Amount"]);
    }

    [Fact]
    public void Hes_numbers_that_round_to_zero_are_never_negative_zero()
    {
        var json = Hes(Meter(new Measurement(Quantity.Frequency, -0.0001, Unit.Hertz)));

        Assert.Equal("0 Hz", (string?)json["Frequency"]);
    }

    [Fact]
    public void A_meter_without_a_credit_has_no_credit_label()
    {
        var json = Hes(Meter(new Measurement(Quantity.Frequency, 50, Unit.Hertz)));

        Assert.Null(json["Remaining Credit Amount"]);
        Assert.Equal("50 Hz", (string?)json["Frequency"]);
    }

    [Fact]
    public void Novacore_carries_the_credit_as_remaining_credit_both_ways()
    {
        var r = NovacoreReading.Parse(Samples.Utf8("""{"type":"meter","timestamp":5,"W":10,"remaining_credit":42.17}"""), Samples.Meter);

        Assert.Equal(42.17, r.Get(Quantity.RemainingCredit, Unit.None));
        Assert.Empty(r.Extras);
        Assert.Equal(42.17, (double)JsonNode.Parse(NovacoreReading.ToUtf8(r))!["remaining_credit"]!);
        Assert.Equal("42.17", (string?)Hes(r)["Remaining Credit Amount"]);
        Assert.True(NovacoreReading.IsNumericKey("remaining_credit")); // so an alert rule can watch it
    }

    [Fact]
    public void The_stored_form_keeps_the_credit()
    {
        var r = Meter(new Measurement(Quantity.RemainingCredit, 199.87, Unit.None));

        var stored = ReadingJson.Parse(ReadingJson.ToUtf8(r), Samples.Meter);

        Assert.Equal(199.87, stored.Get(Quantity.RemainingCredit, Unit.None));
    }
}
