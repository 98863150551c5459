using Wattstream.Emulators.Whatwatt;
using Wattstream.Sources.Whatwatt;

namespace Wattstream.Sources.Tests;

public class WholeSecondSequencerTests
{
    private static byte[] Data(string json) => System.Text.Encoding.UTF8.GetBytes(json);

    [Fact]
    public void Readings_of_one_second_are_numbered_in_order_and_a_repeat_keeps_its_time()
    {
        var sequencer = new WholeSecondSequencer();

        Assert.Equal(5000, sequencer.Next(5000, Data("""{"P_In":1}""")));
        Assert.Equal(5001, sequencer.Next(5000, Data("""{"P_In":2}""")));
        Assert.Equal(5001, sequencer.Next(5000, Data("""{"P_In":2}"""))); // the same reading seen again (a reconnect)
        Assert.Equal(5002, sequencer.Next(5000, Data("""{"P_In":3}""")));
        Assert.Equal(6000, sequencer.Next(6000, Data("""{"P_In":3}""")));
        Assert.Equal(4000, sequencer.Next(4000, Data("""{"P_In":4}"""))); // a clock that stepped back is not renumbered
    }

    [Fact]
    public async Task A_device_reporting_four_times_a_second_loses_no_reading_as_a_duplicate()
    {
        await using var emulator = WhatwattEmulator.Create(
            new WhatwattEmulatorOptions { Port = 0, Password = null, Interval = TimeSpan.FromSeconds(0.25), Seed = 5 },
            _ => { });
        await emulator.StartAsync();
        await using var harness = new SourceHarness(new SourceOptions
        {
            Id = "fast", Kind = SourceKind.Whatwatt, Url = emulator.BaseAddress, Org = "acme", Site = "home", Der = "62124022450", TimeZone = "UTC",
        });

        var readings = await harness.ReadingsAsync(12, TimeSpan.FromSeconds(15));

        var times = readings.Select(e => e.Reading.Timestamp).ToArray();
        Assert.Equal(times.Distinct().Count(), times.Length);
        Assert.Equal(times.Order(), times);
        Assert.Contains(times, t => t % 1000 > 0); // several readings shared a device second
        Assert.Equal(0, harness.Hub.Counters.Duplicates);
    }
}
