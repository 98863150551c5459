using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Alerts.Rules;
using Wattstream.Hub;
using Wattstream.Hub.Status;

namespace Wattstream.Alerts;

/// <summary>
/// Runs evaluation in the hub: one more subscriber of every reading (with a queue of its own, so it never slows the
/// hub), a subscriber of the status board, and a sweep for what changes with time alone. What the evaluator decides
/// goes to the <see cref="AlertFeed"/>, which every transport reads.
/// </summary>
public sealed class AlertService(
    TelemetryHub hub,
    StatusBoard board,
    AlertRuleSet rules,
    AlertFeed feed,
    AlertBudget budget,
    IOptions<AlertsOptions> options,
    TimeProvider time,
    ILogger<AlertService> logger) : IHostedLifecycleService, IDisposable
{
    private readonly Lock _gate = new();
    private readonly AlertEvaluator _evaluator = new(der => hub.GetLast(der)?.Reading, budget);
    private readonly CancellationTokenSource _stopping = new();
    private HubSubscription? _readings;
    private FeedSubscription<DerStatus>? _statuses;
    private Task[] _loops = [];
    private long _publishFailures;
    private long _cleanedUp;

    /// <summary>Stored alerts the cleanup deleted (past <see cref="AlertsOptions.Retention"/> or <see cref="AlertsOptions.MaxStoredPerOrg"/>) since start.</summary>
    public long CleanedUp => Interlocked.Read(ref _cleanedUp);

    /// <summary>What evaluation has done so far.</summary>
    public AlertStats Stats()
    {
        var orgs = OrgStats(null);
        lock (_gate)
        {
            return new AlertStats(
                options.Value.Evaluate,
                rules.Compiled.Count,
                feed.Active(_ => true).Count,
                _evaluator.Notified,
                _evaluator.Suppressed,
                _readings?.Dropped ?? 0,
                feed.Published,
                Interlocked.Read(ref _publishFailures),
                orgs.Sum(o => o.BudgetSuppressed),
                orgs);
        }
    }

    /// <summary>
    /// Each org's share (of <paramref name="orgs"/>, an org admin's view; null: every org with rules, firing alerts or
    /// alerts over budget): its own rules, its alerts firing, its alerts not raised for being over budget.
    /// </summary>
    public IReadOnlyList<OrgAlertStats> OrgStats(IReadOnlyCollection<string>? orgs)
    {
        bool Wanted(string? org) => org is not null && (orgs is null || orgs.Contains(org));
        var ruleCounts = rules.Compiled.Where(r => Wanted(r.Rule.Org)).CountBy(r => r.Rule.Org!).ToDictionary();
        var firing = feed.Active(a => Wanted(a.Org)).CountBy(a => a.Org).ToDictionary();
        var suppressed = budget.SuppressedByOrg().Where(o => Wanted(o.Key)).ToDictionary();
        var names = orgs ?? [.. ruleCounts.Keys.Union(firing.Keys).Union(suppressed.Keys)];
        return [.. names.Order(StringComparer.Ordinal).Select(org => new OrgAlertStats(
            org,
            ruleCounts.GetValueOrDefault(org),
            firing.GetValueOrDefault(org),
            suppressed.GetValueOrDefault(org)))];
    }

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await feed.Store.MigrateAsync(cancellationToken);
        await feed.InitializeAsync(cancellationToken);
        rules.Changed += OnRulesChanged;
        await rules.LoadAsync(cancellationToken);
        if (options.Value.Evaluate)
        {
            // Subscribed before any source starts (StartingAsync runs before every StartAsync): the first reading is judged.
            _readings = hub.Subscribe(SubjectPattern.All, new SubscribeOptions { QueueCapacity = options.Value.QueueCapacity });
            _statuses = board.Subscribe(capacity: 4096);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loops = _readings is not null && _statuses is not null
            ? [JudgeReadingsAsync(_readings), JudgeStatusesAsync(_statuses), SweepAsync(), CleanupAsync()]
            : [CleanupAsync()];

        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        rules.Changed -= OnRulesChanged;
        _readings?.Dispose();
        _statuses?.Dispose();
        await _stopping.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        feed.CompleteAll();
        return Task.CompletedTask;
    }

    public void Dispose() => _stopping.Dispose();

    private async Task JudgeReadingsAsync(HubSubscription subscription)
    {
        var drafts = new List<AlertDraft>();
        while (await subscription.WaitToReadAsync(CancellationToken.None))
        {
            lock (_gate)
            {
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                while (subscription.TryRead(out var e))
                {
                    _evaluator.OnReading(e.Reading, now, drafts);
                }
            }

            await PublishAsync(drafts);
        }
    }

    private async Task JudgeStatusesAsync(FeedSubscription<DerStatus> subscription)
    {
        var drafts = new List<AlertDraft>();
        while (await subscription.WaitToReadAsync(CancellationToken.None))
        {
            lock (_gate)
            {
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                while (subscription.TryRead(out var status))
                {
                    _evaluator.OnStatus(status.Der, status.Type, status.Status, status.Detail, now, drafts);
                }
            }

            await PublishAsync(drafts);
        }
    }

    private async Task SweepAsync()
    {
        var drafts = new List<AlertDraft>();
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                lock (_gate)
                {
                    _evaluator.Sweep(time.GetUtcNow().ToUnixTimeMilliseconds(), drafts);
                }

                await PublishAsync(drafts);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // Stored alerts stay within Alerts:Retention and Alerts:MaxStoredPerOrg: every org at start, then the orgs that
    // published since the last run (a trim walks at most MaxStoredPerOrg index entries per org).
    private async Task CleanupAsync()
    {
        var o = options.Value;
        using var timer = new PeriodicTimer(o.CleanupInterval, time);
        IReadOnlyCollection<string>? orgs = null;
        try
        {
            do
            {
                try
                {
                    var aged = await feed.Store.DeleteOlderThanAsync((time.GetUtcNow() - o.Retention).ToUnixTimeMilliseconds(), _stopping.Token);
                    var trimmed = orgs is { Count: 0 } ? 0 : await feed.Store.TrimAsync(o.MaxStoredPerOrg, orgs, _stopping.Token);
                    if (aged + trimmed > 0)
                    {
                        Interlocked.Add(ref _cleanedUp, aged + trimmed);
                        logger.LogInformation("Alert cleanup: deleted {Aged} alerts older than {Retention} and {Trimmed} past {Max} per org", aged, o.Retention, trimmed, o.MaxStoredPerOrg);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning("Alert cleanup failed: {Error}", e.Message);
                }

                orgs = feed.TakeOrgsPublished();
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnRulesChanged(IReadOnlyList<CompiledRule> compiled)
    {
        var drafts = new List<AlertDraft>();
        lock (_gate)
        {
            _evaluator.SetRules(compiled, time.GetUtcNow().ToUnixTimeMilliseconds(), drafts);
        }

        if (drafts.Count > 0)
        {
            _ = PublishAsync(drafts); // resolutions of a changed rule; the API call need not wait for their delivery
        }
    }

    private async Task PublishAsync(List<AlertDraft> drafts)
    {
        foreach (var draft in drafts)
        {
            try
            {
                var alert = await feed.PublishAsync(draft);
                logger.LogInformation("Alert {Id} {Type} {State} for {Org}/{Site}/{Der}: {Message}", alert.Id, alert.Type, draft.State.ToWireName(), alert.Org, alert.Site, alert.Der?.Der, draft.Message);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.Increment(ref _publishFailures);
                logger.LogError(e, "Publishing an alert failed");
            }
        }

        drafts.Clear();
    }
}

/// <summary>
/// What evaluation has done: rules in force, alerts firing, notifications made and suppressed (repeat window), readings
/// skipped, alerts not raised because their org was over budget, and each org's share.
/// </summary>
public sealed record AlertStats(bool Evaluating, int Rules, int Firing, long Notifications, long Suppressed, long SkippedReadings, long Published, long PublishFailures, long BudgetSuppressed, IReadOnlyList<OrgAlertStats> Orgs);

/// <summary>One org's part: its own rules (not the every-org ones), its alerts firing, its alerts not raised for being over budget.</summary>
public sealed record OrgAlertStats(string Org, int Rules, int Firing, long BudgetSuppressed);
