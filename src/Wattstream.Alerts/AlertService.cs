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
/// goes to the <see cref="AlertFeed"/>, which every transport reads. In cluster mode (<see cref="AlertFeed.Stream"/>) a
/// site is judged only while this node owns its job <c>site:{org}/{site}</c>: a node taking a site over starts from
/// what the cluster's alert stream says is firing and when it last fired, so it neither announces a firing alert again
/// nor misses its resolution.
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
    private DropOldestQueue<DerStatus>? _statuses;
    private Task[] _loops = [];
    private long _publishFailures;
    private long _cleanedUp;
    // Cluster mode: the sites seen (each with its job registered), and the ones this node owns and judges; under _gate.
    private readonly Dictionary<(string Org, string Site), Task<IAsyncDisposable>> _siteJobs = [];
    private readonly HashSet<(string Org, string Site)> _judged = [];
    private long _unpublished; // drafts made and not yet published: a site handed on waits for them

    /// <summary>Stored alerts the cleanup deleted (past <see cref="AlertsOptions.Retention"/> or <see cref="AlertsOptions.MaxStoredPerOrg"/>) since start.</summary>
    public long CleanedUp => Interlocked.Read(ref _cleanedUp);

    /// <summary>What evaluation has done so far.</summary>
    public AlertStats Stats()
    {
        var orgs = OrgStats(null);
        lock (_gate)
        {
            return new AlertStats(
                Evaluates,
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

    /// <summary>Whether this node evaluates rules: <c>Alerts:Evaluate</c>; in cluster mode always (the sites' jobs say which).</summary>
    public bool Evaluates => feed.Stream is not null || options.Value.Evaluate;

    /// <summary>
    /// Whether this node calls the webhooks for <paramref name="alert"/>: a single node always; in cluster mode the owner
    /// of its site (reports too), so each alert is posted by one node, and a site's next owner continues its deliveries.
    /// </summary>
    public bool CallsWebhooksFor(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return feed.Stream is null || Judges(alert.Org, alert.Site);
    }

    /// <summary>
    /// Cluster mode: this node began (true) or ceased (false) to own a site. Raised once the site's state is caught up
    /// from the stream, so every alert of the site published before is in <see cref="AlertFeed.History"/>.
    /// </summary>
    public event Action<string, string, bool>? SiteOwnershipChanged;

    /// <summary>Whether this node judges the site's alerts now: in cluster mode, while it owns the site's job.</summary>
    public bool Judges(string org, string site)
    {
        if (feed.Stream is null)
        {
            return Evaluates;
        }

        lock (_gate)
        {
            return _judged.Contains((org, site));
        }
    }

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await feed.Store.MigrateAsync(cancellationToken);
        await feed.InitializeAsync(cancellationToken);
        rules.Changed += OnRulesChanged;
        await rules.LoadAsync(cancellationToken);
        if (feed.Stream is not null)
        {
            _evaluator.Judges = (org, site) => _judged.Contains((org, site)); // called under _gate
        }

        if (Evaluates)
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
        // Sites handed on at once (while NATS is surely there), not left to lapse.
        Task<IAsyncDisposable>[] jobs;
        lock (_gate)
        {
            jobs = [.. _siteJobs.Values];
        }

        await Task.WhenAll(jobs.Select(async job =>
        {
            try
            {
                await (await job).DisposeAsync().AsTask().WaitAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Handing a site's alerts on failed: {Error}", e.Message);
            }
        }));

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
                    SeeSite(e.Reading.Der);
                }

                Made(drafts);
            }

            await PublishAsync(drafts);
        }
    }

    private async Task JudgeStatusesAsync(DropOldestQueue<DerStatus> subscription)
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
                    SeeSite(status.Der);
                }

                Made(drafts);
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
                    Made(drafts);
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
                    var aged = await feed.History.DeleteOlderThanAsync((time.GetUtcNow() - o.Retention).ToUnixTimeMilliseconds(), _stopping.Token);
                    var trimmed = orgs is { Count: 0 } ? 0 : await feed.History.TrimAsync(o.MaxStoredPerOrg, orgs, _stopping.Token);
                    if (feed.Stream is { } stream && orgs is { Count: > 0 })
                    {
                        await stream.TrimAsync(o.MaxStoredPerOrg, orgs, _stopping.Token); // the cluster's copy: any node may trim it
                    }

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
            Made(drafts);
        }

        if (drafts.Count > 0)
        {
            _ = PublishAsync(drafts); // resolutions of a changed rule; the API call need not wait for their delivery
        }
    }

    // Under _gate: drafts made count as unpublished until PublishAsync is through with them.
    private void Made(List<AlertDraft> drafts) => Interlocked.Add(ref _unpublished, drafts.Count);

    // Under _gate. Cluster mode: a site seen for the first time gets its job, which runs wherever its lease is.
    private void SeeSite(Telemetry.DerAddress der)
    {
        if (feed.Stream is not { } stream || _siteJobs.ContainsKey((der.Org, der.Site)))
        {
            return;
        }

        var (org, site) = (der.Org, der.Site);
        _siteJobs[(org, site)] = stream.Jobs.RunWhileOwnedAsync(IAlertStream.SiteJob(org, site), owned => JudgeSiteAsync(stream, org, site, owned), _stopping.Token);
    }

    // While this node owns the site: its evaluation state is what the stream says, then this node judges it.
    private async Task JudgeSiteAsync(IAlertStream stream, string org, string site, CancellationToken owned)
    {
        await stream.CatchUpAsync(owned);
        lock (_gate)
        {
            foreach (var (rule, der, firing, lastFiredAt) in feed.Targets(org, site))
            {
                _evaluator.Adopt(rule, der, firing, lastFiredAt, value: 0);
            }

            if (feed.NewestTransition(org, site) is { } newest)
            {
                _evaluator.JudgedBefore(org, site, newest);
            }

            _judged.Add((org, site));
        }

        logger.LogInformation("Alerts of {Org}/{Site} are evaluated on this node", org, site);
        SiteOwnershipChanged?.Invoke(org, site, true);
        try
        {
            await Task.Delay(Timeout.Infinite, owned);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _judged.Remove((org, site));
                _evaluator.Release(org, site);
            }

            SiteOwnershipChanged?.Invoke(org, site, false);

            // What this node decided while it owned the site reaches the stream before the next owner reads it (bounded).
            for (var i = 0; i < 100 && Interlocked.Read(ref _unpublished) > 0; i++)
            {
                await Task.Delay(10, CancellationToken.None);
            }
        }
    }

    private async Task PublishAsync(List<AlertDraft> drafts)
    {
        var count = drafts.Count;
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
        Interlocked.Add(ref _unpublished, -count);
    }
}

/// <summary>
/// What evaluation has done: rules in force, alerts firing, notifications made and suppressed (repeat window), readings
/// skipped, alerts not raised because their org was over budget, and each org's share.
/// </summary>
public sealed record AlertStats(bool Evaluating, int Rules, int Firing, long Notifications, long Suppressed, long SkippedReadings, long Published, long PublishFailures, long BudgetSuppressed, IReadOnlyList<OrgAlertStats> Orgs);

/// <summary>One org's part: its own rules (not the every-org ones), its alerts firing, its alerts not raised for being over budget.</summary>
public sealed record OrgAlertStats(string Org, int Rules, int Firing, long BudgetSuppressed);
