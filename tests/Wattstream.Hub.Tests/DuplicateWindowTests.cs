namespace Wattstream.Hub.Tests;

public class DuplicateWindowTests
{
    [Fact]
    public void A_timestamp_seen_before_within_the_window_is_a_duplicate_and_a_new_one_is_not()
    {
        var window = new DuplicateWindow(4);

        Assert.True(window.Remember(10));
        Assert.True(window.Remember(20));
        Assert.False(window.Remember(20)); // the newest again
        Assert.False(window.Remember(10)); // an older one again
        Assert.True(window.Remember(15)); // older than the newest, but never seen
        Assert.False(window.Remember(15));
        Assert.True(window.Remember(30));
    }

    [Fact]
    public void A_timestamp_that_has_left_the_window_is_forgotten()
    {
        var window = new DuplicateWindow(3);
        foreach (var t in new long[] { 10, 20, 30, 40 })
        {
            Assert.True(window.Remember(t));
        }

        Assert.False(window.Remember(20)); // still among the last three
        Assert.True(window.Remember(10)); // pushed out by 40: history's key catches this one, not the hub
    }
}
