namespace Wattstream.Hub.Tests;

public class SubscriptionIndexTests
{
    private static readonly string[] Tokens = ["orgs", "o1", "o2", "sites", "s1", "s2", "devices", "d1", "ders", "m1", "telemetry", "json", "v1"];

    [Fact]
    public void Finds_exactly_the_subscriptions_whose_patterns_match_as_a_scan_would()
    {
        // Random patterns (literals, '*', a trailing '>') against random subjects: the index must agree with
        // SubjectPattern.Matches on every pair, also after some subscriptions are removed again.
        var random = new Random(19);
        var hub = new TelemetryHub();
        var index = new SubscriptionIndex();
        var subscriptions = new List<HubSubscription>();
        for (var i = 0; i < 400; i++)
        {
            var length = random.Next(1, 9);
            var tokens = Enumerable.Range(0, length).Select(_ => random.Next(6) switch { 0 => "*", _ => Tokens[random.Next(Tokens.Length)] }).ToList();
            if (random.Next(3) == 0)
            {
                tokens.Add(">");
            }

            var subscription = hub.Subscribe(string.Join('.', tokens));
            subscriptions.Add(subscription);
            index.Add(subscription);
        }

        foreach (var gone in subscriptions.Where((_, i) => i % 3 == 0).ToArray())
        {
            Assert.True(index.Remove(gone));
            Assert.False(index.Remove(gone));
            subscriptions.Remove(gone);
        }

        Assert.Equal(subscriptions.Count, index.Count);
        Assert.True(subscriptions.ToHashSet().SetEquals(index.All()));
        var matchedSomething = 0;
        for (var i = 0; i < 2000; i++)
        {
            var subject = string.Join('.', Enumerable.Range(0, random.Next(1, 10)).Select(_ => Tokens[random.Next(Tokens.Length)]));
            var expected = subscriptions.Where(s => s.Pattern.Matches(subject)).ToHashSet();
            var actual = index.Match(subject);
            Assert.Equal(actual.Length, actual.Distinct().Count());
            Assert.True(expected.SetEquals(actual), $"{subject}: expected {expected.Count}, found {actual.Length}");
            matchedSomething += actual.Length > 0 ? 1 : 0;
        }

        Assert.True(matchedSomething > 100, "the random subjects should hit some patterns");
    }

    [Fact]
    public void Removing_every_subscription_leaves_an_empty_index()
    {
        var hub = new TelemetryHub();
        var index = new SubscriptionIndex();
        var a = hub.Subscribe("orgs.o1.sites.s1.>");
        var b = hub.Subscribe("orgs.*.sites.s1.>");
        index.Add(a);
        index.Add(b);
        Assert.Equal(2, index.Match("orgs.o1.sites.s1.devices.d1").Length);
        index.Remove(a);
        index.Remove(b);
        Assert.Equal(0, index.Count);
        Assert.Empty(index.Match("orgs.o1.sites.s1.devices.d1"));
    }

    [Fact]
    public void A_hub_with_many_sites_gives_each_subscriber_its_site_only_with_last_values_at_connect()
    {
        var hub = new TelemetryHub();
        for (var s = 0; s < 50; s++)
        {
            hub.Publish(Readings.Meter(Readings.Der(site: $"s{s}"), 1000));
        }

        using var one = hub.Subscribe("orgs.o1.sites.s7.>", new SubscribeOptions { StartWithLastValues = true });
        using var every = hub.Subscribe("orgs.*.sites.*.>", new SubscribeOptions { StartWithLastValues = true });
        Assert.Equal("s7", Assert.Single(Readings.Drain(one)).Reading.Der.Site);
        Assert.Equal(50, Readings.Drain(every).Count);

        hub.Publish(Readings.Meter(Readings.Der(site: "s7"), 2000));
        hub.Publish(Readings.Meter(Readings.Der(site: "s8"), 2000));
        Assert.Equal(2000, Assert.Single(Readings.Drain(one)).Reading.Timestamp);
        Assert.Equal(2, Readings.Drain(every).Count);
    }
}
