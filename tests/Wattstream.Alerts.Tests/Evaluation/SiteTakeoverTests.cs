using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Rules;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Tests;

/// <summary>
/// Cluster mode's evaluation of a site by its owner only: a site not judged here raises nothing, a site taken over
/// starts from what the published alerts say (firing, last fired) so it neither fires again nor misses the resolution
/// and keeps the repeat window, and a site handed on forgets its state.
/// </summary>
public class SiteTakeoverTests
{
    private static readonly DerAddress Meter = new("acme", "home", "gw", "m1");
    private const long T0 = 1_790_000_000_000;
    private const long WindowMs = 300_000;

    private readonly AlertEvaluator _evaluator = new();
    private readonly List<AlertDraft> _out = [];
    private bool _owned;

    public SiteTakeoverTests()
    {
        var rule = new AlertRule { Id = "r-high", Type = "high_consumption", Org = "acme", Threshold = 5, RepeatSeconds = WindowMs / 1000 };
        _evaluator.SetRules([new CompiledRule(rule)], T0, _out);
        _evaluator.Judges = (org, site) => _owned && org == "acme" && site == "home";
    }

    private void Feed(long at, double importKw) =>
        _evaluator.OnReading(new Reading(Meter, DerType.Meter, at, null, [new Measurement(Quantity.ActivePower, importKw * 1000, Unit.Watt)]), at, _out);

    [Fact]
    public void A_site_this_node_does_not_judge_raises_nothing()
    {
        Feed(T0, importKw: 6);

        Assert.Empty(_out);
    }

    [Fact]
    public void A_site_taken_over_while_firing_does_not_fire_again_and_resolves()
    {
        _owned = true;
        _evaluator.Adopt("r-high", Meter, firing: true, lastFiredAt: T0, value: 6);

        Feed(T0 + 1_000, importKw: 7);
        Feed(T0 + 2_000, importKw: 1);

        var only = Assert.Single(_out);
        Assert.Equal(AlertState.Resolved, only.State);
        Assert.Equal(T0 + 2_000, only.Timestamp);
    }

    [Fact]
    public void A_site_taken_over_keeps_the_repeat_window_of_its_last_firing()
    {
        _owned = true;
        _evaluator.Adopt("r-high", Meter, firing: false, lastFiredAt: T0, value: 0);

        Feed(T0 + 10_000, importKw: 7); // within five minutes of the firing the last owner announced

        Assert.Empty(_out);
        Assert.Equal(1, _evaluator.Suppressed);
    }

    [Fact]
    public void A_site_taken_over_does_not_judge_again_a_reading_older_than_the_newest_transition_an_earlier_owner_made()
    {
        // The last owner fired at T0 and resolved at T0 + 5 s; a reading from before the resolution arrives late (a
        // restarting node's replayed feed, or a push made while the site had no owner).
        _owned = true;
        _evaluator.Adopt("r-high", Meter, firing: false, lastFiredAt: T0, value: 0);
        _evaluator.JudgedBefore("acme", "home", T0 + 5_000);

        Feed(T0 + 3_000, importKw: 7);
        Feed(T0 + 5_000, importKw: 7);
        Assert.Empty(_out);
        Assert.Equal(2, _evaluator.Superseded);

        // A reading after it is judged (here past the repeat window: a new firing).
        Feed(T0 + WindowMs + 1, importKw: 7);
        Assert.Equal(AlertState.Firing, Assert.Single(_out).State);

        // Handed on and taken again with no transition known: every reading is judged.
        _evaluator.Release("acme", "home");
        _out.Clear();
        Feed(T0 + 1_000, importKw: 7);
        Assert.Single(_out);
    }

    [Fact]
    public void A_site_handed_on_forgets_its_state_and_a_rule_gone_is_not_adopted()
    {
        _owned = true;
        Feed(T0, importKw: 6);
        Assert.Single(_out);

        _evaluator.Release("acme", "home");
        _evaluator.Adopt("gone", Meter, firing: true, lastFiredAt: T0, value: 6);
        Feed(T0 + WindowMs, importKw: 7); // no state left: a new firing, past the repeat window

        Assert.Equal([AlertState.Firing, AlertState.Firing], _out.Select(d => d.State));
    }

    [Fact]
    public void The_feed_tells_a_new_owner_what_the_stream_said_of_the_site()
    {
        var feed = new AlertFeed(new MemoryAlertStore(), NullLogger<AlertFeed>.Instance, new NoStream());
        StoredAlert Row(long id, string state, long at, string site = "home") =>
            new(id, "r-high", "high_consumption", state, "acme", site, "gw/m1", at, """{"rule":"r-high"}"""u8.ToArray());

        feed.Deliver(Row(7, "firing", T0));
        feed.Deliver(Row(8, "resolved", T0 + 1_000));
        feed.Deliver(Row(9, "firing", T0 + 2_000, site: "barn"));

        var target = Assert.Single(feed.Targets("acme", "home"));
        Assert.Equal(("r-high", "m1", false, T0), (target.Rule, target.Der.Der, target.Firing, target.LastFiredAt));
        Assert.True(Assert.Single(feed.Targets("acme", "barn")).Firing);
        Assert.Equal(9, feed.Feed.LastId); // the stream's sequences are the ids
    }

    [Fact]
    public void A_transitions_message_id_is_its_rule_der_state_and_time_and_reports_are_each_their_own()
    {
        var draft = new AlertDraft("r-high", "high_consumption", AlertState.Firing, "High", T0, "acme", "home", Meter, 6, 5, null);
        var report = draft with { Rule = AlertFeed.ReportedRule, Der = null };

        Assert.Equal($"alert:r-high:acme/home/gw/m1:firing:{T0}", AlertFeed.MessageId(draft));
        Assert.NotEqual(AlertFeed.MessageId(draft), AlertFeed.MessageId(draft with { State = AlertState.Resolved }));
        Assert.NotEqual(AlertFeed.MessageId(report), AlertFeed.MessageId(report));
    }

    private sealed class NoStream : IAlertStream
    {
        public Hub.Jobs.IJobOwnership Jobs { get; } = new Hub.Jobs.LocalJobs();

        public IAlertStore History { get; } = new MemoryAlertStore();

        public Task<long> AppendAsync(StoredAlert alert, string messageId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task CatchUpAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task TrimAsync(int keepPerOrg, IReadOnlyCollection<string> orgs, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}
