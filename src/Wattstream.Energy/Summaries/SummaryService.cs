using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Energy.Balance;
using Wattstream.Energy.Periods;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Storage;
using Wattstream.Telemetry;

namespace Wattstream.Energy.Summaries;

/// <summary>
/// Computes every site's summary in the hub: one more subscriber of every reading notes which sites changed (the
/// newest reading of each DER is the hub's last value, not a copy kept here); a timer sends the summary of each site that changed (at most once per <see cref="EnergyOptions.SummaryInterval"/>);
/// another recomputes today's energy from history (<see cref="EnergyOptions.TodayRefresh"/>). Staleness comes from the
/// status board: a site is stale while none of its DERs is connected (silent for <c>Status:StaleAfter</c>, or never
/// heard from in this run); it gets one more summary when that changes, so clients take staleness from the hub instead
/// of timing the stream themselves.
/// </summary>
public sealed class SummaryService(
    TelemetryHub hub,
    SummaryBoard board,
    IOptions<EnergyOptions> options,
    IOptions<SitesOptions> sites,
    StatusBoard statuses,
    TimeProvider time,
    ILogger<SummaryService> logger,
    IReadingStore? store = null) : IHostedLifecycleService, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Org, string Site), SiteState> _sites = [];
    private readonly CancellationTokenSource _stopping = new();
    private HubSubscription? _readings;
    private DropOldestQueue<DerStatus>? _statuses;
    private Task[] _loops = [];
    private long _version;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _readings = hub.Subscribe(SubjectPattern.All, new SubscribeOptions { QueueCapacity = 65_536 });
        _statuses = statuses.Subscribe(capacity: 65_536);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loops = [TakeReadingsAsync(_readings!), TakeStatusesAsync(_statuses!), SendSummariesAsync(), RefreshTodayAsync()];
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _readings?.Dispose();
        _statuses?.Dispose();
        await _stopping.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        board.CompleteAll();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    /// <summary>The site's time zone and tariff (configured, or the machine's zone and none).</summary>
    public (TimeZoneInfo Zone, Tariffs.Tariff? Tariff) SettingsOf(string site)
    {
        var settings = sites.Value.Find(site);
        return (settings?.ResolveTimeZone() ?? TimeZoneInfo.Local, settings?.Tariff);
    }

    private async Task TakeReadingsAsync(HubSubscription readings)
    {
        while (await readings.WaitToReadAsync(CancellationToken.None))
        {
            lock (_gate)
            {
                while (readings.TryRead(out var e))
                {
                    if (!e.WasNewest)
                    {
                        continue; // older than its DER's newest: the present (the hub's last value) has not moved
                    }

                    var site = SiteOf(e.Reading.Der);
                    site.Ders.Add(e.Reading.Der);
                    site.Changed = true;
                }
            }
        }
    }

    private async Task TakeStatusesAsync(DropOldestQueue<DerStatus> changes)
    {
        while (await changes.WaitToReadAsync(CancellationToken.None))
        {
            lock (_gate)
            {
                while (changes.TryRead(out var status))
                {
                    SiteOf(status.Der).Connected[status.Der] = status.Status == ConnectionStatus.Connected;
                }
            }
        }
    }

    private SiteState SiteOf(DerAddress der)
    {
        if (!_sites.TryGetValue((der.Org, der.Site), out var site))
        {
            site = new SiteState();
            _sites[(der.Org, der.Site)] = site;
        }

        return site;
    }

    private async Task SendSummariesAsync()
    {
        using var timer = new PeriodicTimer(options.Value.SummaryInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                SendChanged();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sends the summary of every site that changed, or became stale or fresh, since the last call.</summary>
    internal void SendChanged()
    {
        List<SiteSummary> made = [];
        var now = time.GetUtcNow();
        lock (_gate)
        {
            foreach (var ((org, site), state) in _sites)
            {
                var stale = state.Connected.Count > 0 && !state.Connected.ContainsValue(true);
                if (!state.Changed && stale == (state.StaleSince is not null))
                {
                    continue;
                }

                state.Changed = false;
                state.StaleSince = stale ? state.StaleSince ?? now : null;
                var (_, tariff) = SettingsOf(site);
                var newest = state.Ders.Select(hub.GetLast).OfType<HubEvent>().Select(e => e.Reading);
                made.Add(new SiteSummary(org, site, PowerBalance.Of(newest), state.Today, tariff?.Currency, ++_version, state.StaleSince));
            }
        }

        foreach (var summary in made)
        {
            board.Publish(summary);
        }
    }

    private async Task RefreshTodayAsync()
    {
        if (store is null)
        {
            return; // without history there are no registers to count from: summaries carry the live balance only
        }

        using var timer = new PeriodicTimer(options.Value.TodayRefresh, time);
        try
        {
            // The first sites report within a tick or two of the start; today's numbers should not wait a whole period.
            await Task.Delay(options.Value.SummaryInterval * 2, time, _stopping.Token);
            do
            {
                await RefreshTodayOnceAsync(_stopping.Token);
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Recomputes today's energy of every site from history.</summary>
    internal async Task RefreshTodayOnceAsync(CancellationToken cancellationToken)
    {
        (string Org, string Site, (DerAddress, DerType)[] Ders)[] sitesNow;
        lock (_gate)
        {
            sitesNow = [.. _sites.Select(s => (s.Key.Org, s.Key.Site, s.Value.Ders.Select(hub.GetLast).OfType<HubEvent>().Select(e => (e.Reading.Der, e.Reading.Type)).ToArray()))];
        }

        var now = time.GetUtcNow();
        foreach (var (org, site, ders) in sitesNow)
        {
            // A site at a time, back of the queue between sites: SQLite's queries run synchronously on this pool
            // thread, and a thousand sites in one go held it for a third of a second every refresh, which every
            // stream's delivery waited behind on a one-core host (the p99 of scenario (f), docs/benchmarks.md).
            await Task.Yield();
            try
            {
                var (zone, tariff) = SettingsOf(site);
                var today = await EnergyQueries.PeriodsAsync(store!, ders, now, now, EnergyPeriodKind.Day, zone, tariff, now, cancellationToken);
                lock (_gate)
                {
                    var state = _sites[(org, site)];
                    state.Today = today.Count > 0 ? today[^1] : null;
                    state.Changed = true;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Today's energy of {Org}/{Site} could not be computed: {Error}", org, site, e.Message);
            }
        }
    }

    private sealed class SiteState
    {
        public HashSet<DerAddress> Ders { get; } = [];

        public bool Changed { get; set; }

        public EnergyPeriod? Today { get; set; }

        /// <summary>
        /// Whether each of the site's DERs is connected, as the status board says. The site is stale when the board knows
        /// some and none is (a site the board has not told of yet is not: its first reading may come before its status).
        /// </summary>
        public Dictionary<DerAddress, bool> Connected { get; } = [];

        /// <summary>When the summaries began to say stale; null while they say fresh.</summary>
        public DateTimeOffset? StaleSince { get; set; }
    }
}
