using Wattstream.Telemetry;

namespace Wattstream.Nats.Tests;

public class NatsSubjectsTests
{
    [Theory]
    [InlineData(">", "orgs.*.sites.*.devices.*.ders.*.telemetry.json.v1")]
    [InlineData("orgs.>", "orgs.*.sites.*.devices.*.ders.*.telemetry.json.v1")]
    [InlineData("orgs.acme.>", "orgs.acme.sites.*.devices.*.ders.*.telemetry.json.v1")]
    [InlineData("orgs.*.sites.plant.>", "orgs.*.sites.plant.devices.*.ders.*.telemetry.json.v1")]
    [InlineData("orgs.acme.sites.plant.devices.gw.ders.pv-1.telemetry.json.v1", "orgs.acme.sites.plant.devices.gw.ders.pv-1.telemetry.json.v1")]
    [InlineData("orgs.acme.sites.*.devices.*.ders.*.>", "orgs.acme.sites.*.devices.*.ders.*.telemetry.json.v1")]
    public void A_pattern_becomes_a_jetstream_filter_inside_the_streams_subjects(string pattern, string filter) =>
        Assert.Equal(filter, NatsSubjects.TelemetryFilter(pattern));

    [Theory]
    [InlineData("orgs.acme.sites.plant.devices.gw.ders.pv-1.status.json.v1")] // status is not in the stream
    [InlineData("gateways.>")]
    [InlineData("orgs.acme")]
    [InlineData("orgs.acme.sites.plant.devices.gw.ders.pv-1.telemetry.json.v1.extra")]
    public void A_pattern_that_stands_for_no_telemetry_subject_has_no_filter(string pattern) =>
        Assert.Null(NatsSubjects.TelemetryFilter(pattern));

    [Fact]
    public void A_telemetry_subject_names_its_der_and_anything_else_does_not()
    {
        Assert.Equal(new DerAddress("acme", "plant", "gw", "pv-1"), NatsSubjects.TelemetryAddress("orgs.acme.sites.plant.devices.gw.ders.pv-1.telemetry.json.v1"));
        Assert.Null(NatsSubjects.TelemetryAddress("orgs.acme.sites.plant.devices.gw.ders.pv-1.status.json.v1"));
        Assert.Null(NatsSubjects.TelemetryAddress("orgs.ac me.sites.plant.devices.gw.ders.pv-1.telemetry.json.v1"));
    }

    [Fact]
    public void The_message_id_carries_the_whole_address_so_two_orgs_ders_of_the_same_name_differ()
    {
        Assert.NotEqual(
            Subjects.MessageId(new DerAddress("acme", "plant", "gw", "pv-1"), 1000),
            Subjects.MessageId(new DerAddress("globex", "plant", "gw", "pv-1"), 1000));
        Assert.Equal("acme.plant.gw.pv-1:1000", Subjects.MessageId(new DerAddress("acme", "plant", "gw", "pv-1"), 1000));
    }
}
