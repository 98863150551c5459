using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Rules;
using Wattstream.Storage.Alerts;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Tests;

/// <summary>Per-org budgets: alerts per minute in evaluation, and stored alerts in the memory store.</summary>
public class AlertBudgetTests
{
    private const long T0 = 1_790_000_020_000; // 40 s into a minute

    private static AlertBudget Budget(int perMinute) =>
        new(Options.Create(new AlertsOptions { MaxAlertsPerMinutePerOrg = perMinute }), NullLogger<AlertBudget>.Instance);

    private static CompiledRule Above(string id, string? org) =>
        new(new AlertRule { Id = id, Type = "threshold", Org = org, Field = "W", Operator = ">", Threshold = 1, RepeatSeconds = 0 });

    private static Reading Watts(string org, int der, double watts, long at) =>
        new(new DerAddress(org, "s1", "gw", $"m{der}"), DerType.Meter, at, null, [new Measurement(Quantity.ActivePower, watts, Unit.Watt)]);

    [Fact]
    public void Past_an_orgs_budget_firings_are_counted_not_announced_and_their_resolutions_stay_quiet_while_another_org_is_untouched()
    {
        var budget = Budget(2);
        var evaluator = new AlertEvaluator(budget: budget);
        var drafts = new List<AlertDraft>();
        evaluator.SetRules([Above("any", null)], T0, drafts);
        for (var der = 0; der < 5; der++)
        {
            evaluator.OnReading(Watts("flood", der, 1000, T0), T0, drafts);
        }

        evaluator.OnReading(Watts("calm", 0, 1000, T0), T0, drafts);
        Assert.Equal(["flood/m0 firing", "flood/m1 firing", "calm/m0 firing"], drafts.Select(d => $"{d.Org}/{d.Der!.Der} {d.State.ToWireName()}"));
        Assert.Equal(3, budget.Suppressed("flood"));
        Assert.Equal(0, budget.Suppressed("calm"));
        Assert.Equal([KeyValuePair.Create("flood", 3L)], budget.SuppressedByOrg());

        // Back under the threshold: only what was announced resolves.
        drafts.Clear();
        for (var der = 0; der < 5; der++)
        {
            evaluator.OnReading(Watts("flood", der, 0, T0 + 1000), T0 + 1000, drafts);
        }

        Assert.Equal(["m0 resolved", "m1 resolved"], drafts.Select(d => $"{d.Der!.Der} {d.State.ToWireName()}"));

        // The next minute of the hub's clock (not the readings'): the budget is there again.
        drafts.Clear();
        evaluator.OnReading(Watts("flood", 4, 1000, T0 + 2000), T0 + 20_000, drafts);
        Assert.Single(drafts);
    }

    [Fact]
    public void A_budget_refuses_past_its_count_in_a_minute_and_says_how_long_until_the_next()
    {
        var budget = Budget(3);
        Assert.Equal([true, true, true, false, false], Enumerable.Range(0, 5).Select(_ => budget.TryTake("a", T0)));
        Assert.True(budget.TryTake("b", T0));
        Assert.Equal(20, AlertBudget.SecondsLeft(T0));
        Assert.True(budget.TryTake("a", T0 + 20_000));
        Assert.Equal(2, budget.Suppressed("a"));
    }

    private static StoredAlert Alert(string org, long ts) => new(0, "r", "threshold", "firing", org, "s1", "gw/m0", ts, [(byte)'{', (byte)'}']);

    [Fact]
    public async Task The_memory_store_past_its_capacity_drops_the_oldest_of_the_org_holding_the_most_and_trims_per_org()
    {
        var store = new MemoryAlertStore(capacity: 10);
        await store.AppendAsync(Alert("calm", 1));
        await store.AppendAsync(Alert("calm", 2));
        for (var i = 0; i < 50; i++)
        {
            await store.AppendAsync(Alert("flood", 100 + i));
        }

        var all = await store.QueryAsync(new AlertQuery { NewestFirst = true });
        Assert.Equal(10, all.Count);
        Assert.Equal([2L, 1L], all.Where(a => a.Org == "calm").Select(a => a.Timestamp));
        Assert.Equal(Enumerable.Range(142, 8).Reverse().Select(t => (long)t), all.Where(a => a.Org == "flood").Select(a => a.Timestamp));
        Assert.Equal(all.Select(a => a.Id).Order().Reverse(), all.Select(a => a.Id)); // id order, newest first

        Assert.Equal(5, await store.TrimAsync(3));
        Assert.Equal([149L, 148L, 147L], (await store.QueryAsync(new AlertQuery { Orgs = ["flood"], NewestFirst = true })).Select(a => a.Timestamp));
        Assert.Equal(0, await store.TrimAsync(1, ["nobody"]));
        Assert.Equal(1, await store.TrimAsync(1, ["calm"]));
        Assert.Equal(2, await store.DeleteOlderThanAsync(148));
        Assert.Equal([149L, 148L], (await store.QueryAsync(new AlertQuery { NewestFirst = true })).Select(a => a.Timestamp));
    }
}
