using Wattstream.Server.Composition.Settings;

namespace Wattstream.Server.Tests;

/// <summary>The nearest known setting to a key that is not one: a typo first, else the same words or their synonyms.</summary>
public class SettingKeySuggestionsTests
{
    private static readonly string[] StorageKeys = ["Enabled", "DataDirectory", "QueueCapacity", "FlushInterval", "Retention", "MaxBytes"];

    [Theory]
    [InlineData("DataDirectroy", "DataDirectory")] // two letters swapped
    [InlineData("Data_Directory", "DataDirectory")] // a separator the key does not have
    [InlineData("queuecapacity", "QueueCapacity")] // case
    [InlineData("Path", "DataDirectory")] // a synonym of one of its words
    [InlineData("FlushPeriod", "FlushInterval")] // one word the same, the other a synonym
    [InlineData("MaximumBytes", "MaxBytes")]
    public void Names_the_key_that_was_meant(string written, string meant) =>
        Assert.Equal(meant, SettingKeySuggestions.Closest(StorageKeys, written));

    [Theory]
    [InlineData("Colour")]
    [InlineData("Compression")]
    public void Names_none_when_nothing_is_near(string written) =>
        Assert.Null(SettingKeySuggestions.Closest(StorageKeys, written));

    [Fact]
    public void A_typo_wins_over_a_shorter_key_with_a_synonym() =>
        Assert.Equal("Directory", SettingKeySuggestions.Closest(["Path", "Directory"], "Directroy"));

    [Theory]
    [InlineData("abc", "abc", 0)]
    [InlineData("abc", "acb", 1)] // neighbours swapped: one step
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void Distance_counts_edits_and_swaps(string a, string b, int distance) =>
        Assert.Equal(distance, SettingKeySuggestions.Distance(a, b));
}
