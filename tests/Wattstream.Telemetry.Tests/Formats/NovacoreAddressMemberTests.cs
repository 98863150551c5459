using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Telemetry.Tests;

public class NovacoreAddressMemberTests
{
    [Fact]
    public void A_written_reading_carries_its_site_device_and_der_ids()
    {
        var r = NovacoreReading.Parse(Samples.Utf8(Samples.NovacoreBattery), Samples.Battery);

        var json = JsonNode.Parse(NovacoreReading.ToUtf8(r))!;

        Assert.Equal("site-1", (string?)json["site_id"]);
        Assert.Equal("inverter-1", (string?)json["device_id"]);
        Assert.Equal("battery-1", (string?)json["der_id"]);
    }

    [Fact]
    public void Parsing_gives_the_carried_ids_and_keeps_them_out_of_the_extras()
    {
        var json = """{"type":"battery","timestamp":5,"W":100,"site_id":"s-9","device_id":"inv-2","der_id":"bat-2"}""";

        var r = NovacoreReading.Parse(Samples.Utf8(json), Samples.Battery, [], out var carried);

        Assert.Equal(new CarriedIds("s-9", "inv-2", "bat-2"), carried);
        Assert.Empty(r.Extras);
        Assert.Equal(Samples.Battery, r.Der); // the caller's address, not the JSON's
        var written = JsonNode.Parse(NovacoreReading.ToUtf8(r))!;
        Assert.Equal("battery-1", (string?)written["der_id"]);
    }

    [Fact]
    public void Ids_that_are_not_strings_are_ignored_not_errors()
    {
        var r = NovacoreReading.Parse(Samples.Utf8("""{"type":"pv","timestamp":5,"der_id":7,"device_id":null}"""), Samples.Pv, [], out var carried);

        Assert.Equal(new CarriedIds(null, null, null), carried);
        Assert.Empty(r.Extras);
    }

    [Fact]
    public void An_id_kept_as_an_extra_by_an_earlier_version_is_not_written_twice()
    {
        // A stored reading from before the ids were written may hold "der_id" among its Novacore extras.
        var stored = new Reading(Samples.Pv, DerType.Pv, 5, null, [new Measurement(Quantity.ActivePower, -10, Unit.Watt)], [],
            [new ReadingField("der_id", "\"old\""u8.ToArray()), new ReadingField("vendor", "1"u8.ToArray())], NovacoreReading.FormatName);

        var json = Encoding.UTF8.GetString(NovacoreReading.ToUtf8(stored));

        Assert.Single(System.Text.RegularExpressions.Regex.Matches(json, "\"der_id\""));
        Assert.Equal("pv-1", (string?)JsonNode.Parse(json)!["der_id"]);
        Assert.Contains("\"vendor\":1", json, StringComparison.Ordinal);
    }
}
