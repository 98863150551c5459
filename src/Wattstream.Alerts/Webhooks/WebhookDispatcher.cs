using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Hub;
using Wattstream.Storage.Alerts;

namespace Wattstream.Alerts.Webhooks;

/// <summary>
/// Posts alerts to the configured webhooks, signed. Each webhook has its own queue and sender, fed by one feed
/// subscription: a slow or failing receiver delays only itself, never evaluation or another receiver. Retries (with
/// exponential backoff and jitter) are the resilience handler's (<see cref="AlertWebhookSetup"/>); what still fails
/// goes to the dead-letter list. In cluster mode every node sees every alert, and only the one that owns its site (a
/// reports too) posts it, under the alert's cluster-wide id (<see cref="AlertService.CallsWebhooksFor"/>), and records
/// in the <see cref="IWebhookDeliveryLedger"/> how far each webhook got with each site and what it dead-lettered: a
/// node taking a site over sends again, in id order and before new ones, what the last owner had not finished with.
/// </summary>
public sealed class WebhookDispatcher : IHostedLifecycleService, IDisposable
{
    public const string ClientName = "alert-webhooks";

    internal static readonly HttpRequestOptionsKey<StrongBox<int>> Attempts = new("wattstream.attempts");

    // How long a ledger write may take: a delivery finished and not recorded is at worst sent again by a next owner.
    private static readonly TimeSpan LedgerTimeout = TimeSpan.FromSeconds(5);

    private readonly AlertFeed _feed;
    private readonly AlertService _alerts;
    private readonly IHttpClientFactory _clients;
    private readonly IOptions<WebhookDeliveryOptions> _delivery;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly IWebhookDeliveryLedger? _ledger;
    private readonly List<Target> _targets;
    private readonly LinkedList<DeadLetter> _deadLetters = new();
    private readonly CancellationTokenSource _stopping = new();
    // Cluster mode: the live alerts and the sites taken or handed on, in the order they happened, for the fan-out.
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private DropOldestQueue<Alert>? _subscription;
    private Task _fanOut = Task.CompletedTask;
    private Task _pump = Task.CompletedTask;
    private Task[] _senders = [];
    private int _stopped;

    /// <param name="ledger">Cluster mode's record of deliveries; null on a single node.</param>
    public WebhookDispatcher(
        AlertFeed feed,
        AlertService alerts,
        IHttpClientFactory clients,
        IOptions<AlertsOptions> options,
        IOptions<WebhookDeliveryOptions> delivery,
        TimeProvider time,
        ILogger<WebhookDispatcher> logger,
        IWebhookDeliveryLedger? ledger = null)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(delivery);
        _feed = feed;
        _alerts = alerts;
        _clients = clients;
        _delivery = delivery;
        _time = time;
        _logger = logger;
        _targets = [.. options.Value.Webhooks.Select(w => new Target(w, delivery.Value.QueueCapacity))];
        _ledger = ledger;
        if (_ledger is not null && _targets.Count > 0)
        {
            // From construction on, before any site can be taken: no takeover is missed.
            alerts.SiteOwnershipChanged += OnSiteOwnershipChanged;
        }
    }

    /// <summary>Each webhook's counters (its URL without query or credentials).</summary>
    public IReadOnlyList<WebhookStatus> Statuses() => [.. _targets.Select(t => new WebhookStatus(t.Options.DisplayName, t.Options.SafeUrl, t.Options.Org, t.Delivered, t.Failed, t.Queue.Reader.Count))];

    /// <summary>Cluster mode: the node whose counters <see cref="Statuses"/> are; null on a single node.</summary>
    public string? Node => _ledger?.Node;

    /// <summary>The newest failed deliveries first; in cluster mode the whole cluster's.</summary>
    public IReadOnlyList<DeadLetter> DeadLetters()
    {
        if (_ledger is not null)
        {
            return _ledger.DeadLetters();
        }

        lock (_deadLetters)
        {
            return [.. _deadLetters.Reverse()];
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_targets.Count == 0)
        {
            return Task.CompletedTask;
        }

        _subscription = _feed.Subscribe(capacity: _delivery.Value.QueueCapacity);
        if (_ledger is null)
        {
            _fanOut = FanOutAsync(_subscription);
        }
        else
        {
            _pump = PumpAsync(_subscription);
            _fanOut = Task.Run(ClusterFanOutAsync, CancellationToken.None);
        }

        _senders = [.. _targets.Select(SendAllAsync)];
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Cluster mode: sending ends before the sites are handed on (services stop in reverse order, AlertService was
    // registered first), so what was delivered is recorded before a next owner reads the cursors.
    public Task StoppingAsync(CancellationToken cancellationToken) => _ledger is null ? Task.CompletedTask : StopSendingAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => StopSendingAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _alerts.SiteOwnershipChanged -= OnSiteOwnershipChanged;
        _stopping.Dispose();
    }

    private async Task StopSendingAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        _subscription?.Dispose();
        _inbox.Writer.TryComplete();
        await _stopping.CancelAsync();
        await Task.WhenAll([_pump, _fanOut, .. _senders]).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task FanOutAsync(DropOldestQueue<Alert> subscription)
    {
        while (await subscription.WaitToReadAsync(CancellationToken.None))
        {
            while (subscription.TryRead(out var alert))
            {
                if (!_alerts.CallsWebhooksFor(alert))
                {
                    continue;
                }

                foreach (var target in _targets)
                {
                    if (target.Wants(alert))
                    {
                        await QueueAsync(target, alert);
                    }
                }
            }
        }

        foreach (var target in _targets)
        {
            target.Queue.Writer.TryComplete();
        }
    }

    private async Task QueueAsync(Target target, Alert alert)
    {
        if (!target.Queue.Writer.TryWrite(alert))
        {
            await AddDeadLetterAsync(target, alert, 0, null, "queue full: the receiver is too far behind");
        }
    }

    private void OnSiteOwnershipChanged(string org, string site, bool owned) => _inbox.Writer.TryWrite(new SiteOwnership(org, site, owned));

    // Cluster mode: live alerts join the sites' takeovers and hand-ons in one queue, so the fan-out sees them in order.
    private async Task PumpAsync(DropOldestQueue<Alert> subscription)
    {
        while (await subscription.WaitToReadAsync(CancellationToken.None))
        {
            while (subscription.TryRead(out var alert))
            {
                _inbox.Writer.TryWrite(alert);
            }
        }

        _inbox.Writer.TryComplete();
    }

    // Cluster mode. A site's live alerts are queued only once this node has gone through the site's takeover, which
    // queues first what the last owner had not finished with (the alerts after each webhook's cursor); the highest
    // id queued per site and webhook keeps an alert from being queued twice.
    private async Task ClusterFanOutAsync()
    {
        var ready = new Dictionary<(string Org, string Site), long[]>();
        try
        {
            await foreach (var item in _inbox.Reader.ReadAllAsync(CancellationToken.None))
            {
                switch (item)
                {
                    case SiteOwnership { Owned: false } handedOn:
                        ready.Remove((handedOn.Org, handedOn.Site));
                        break;
                    case SiteOwnership taken when !ready.ContainsKey((taken.Org, taken.Site)) && _alerts.Judges(taken.Org, taken.Site):
                        ready[(taken.Org, taken.Site)] = await TakeOverAsync(taken.Org, taken.Site);
                        break;
                    case Alert alert when _alerts.CallsWebhooksFor(alert) && ready.TryGetValue((alert.Org, alert.Site), out var queued):
                        for (var i = 0; i < _targets.Count; i++)
                        {
                            if (alert.Id > queued[i] && _targets[i].Wants(alert))
                            {
                                await QueueAsync(_targets[i], alert);
                            }

                            queued[i] = Math.Max(queued[i], alert.Id);
                        }

                        break;
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var target in _targets)
            {
                target.Queue.Writer.TryComplete();
            }
        }
    }

    // Queues, per webhook, the site's alerts after its cursor that the history still holds, oldest first; returns the
    // highest id gone through per webhook (every alert of the site up to there is queued or not wanted).
    private async Task<long[]> TakeOverAsync(string org, string site)
    {
        var ledger = _ledger!;
        var history = await _feed.History.QueryAsync(new AlertQuery { Orgs = [org], Site = site, Limit = int.MaxValue }, _stopping.Token);
        var newest = history.Count > 0 ? history[^1].Id : 0;
        // Alerts from before this node started with no cursor recorded predate delivery cursors: not sent again.
        var initial = history.LastOrDefault(a => a.Id <= ledger.AlertsBeforeStart)?.Id ?? 0;
        var queued = new long[_targets.Count];
        for (var i = 0; i < _targets.Count; i++)
        {
            var target = _targets[i];
            if (!target.WantsSite(org, site))
            {
                queued[i] = newest;
                continue;
            }

            long cursor;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(LedgerTimeout);
                cursor = await ledger.CursorAsync(target.Options.DisplayName, org, site, initial, timeout.Token);
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                // Sending twice beats losing: without the cursor, everything the site's history holds since start.
                cursor = initial;
                _logger.LogWarning("Webhook {Webhook}: the delivery cursor of {Org}/{Site} could not be read ({Error}); sending its alerts since this node started", target.Options.DisplayName, org, site, e.Message);
            }

            var again = 0;
            foreach (var row in history.Where(a => a.Id > cursor))
            {
                var alert = AlertFeed.FromStored(row);
                if (target.Wants(alert))
                {
                    await QueueAsync(target, alert);
                    again++;
                }
            }

            queued[i] = Math.Max(cursor, newest);
            if (again > 0)
            {
                _logger.LogInformation("Webhook {Webhook}: {Count} alerts of {Org}/{Site} after its cursor {Cursor} queued again on taking the site over", target.Options.DisplayName, again, org, site, cursor);
            }
        }

        return queued;
    }

    private async Task SendAllAsync(Target target)
    {
        var client = _clients.CreateClient(ClientName);
        try
        {
            await foreach (var alert in target.Queue.Reader.ReadAllAsync(_stopping.Token))
            {
                if (_ledger is null)
                {
                    await SendAsync(client, target, alert);
                    continue;
                }

                // Cluster mode: a site handed on meanwhile is its next owner's to send, from the cursor on.
                if (_alerts.CallsWebhooksFor(alert) && await SendAsync(client, target, alert))
                {
                    await AdvanceAsync(target, alert);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    // Whether the webhook is finished with the alert: delivered or dead-lettered (not: stopped meanwhile).
    private async Task<bool> SendAsync(HttpClient client, Target target, Alert alert)
    {
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        // The alert's shared bytes go out as they are: no copy per delivery.
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Options.Url) { Content = new ReadOnlyMemoryContent(alert.Json) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(target.Options.Secret!, timestamp, alert.Json.Span));
        request.Headers.Add(WebhookSignature.AlertIdHeader, alert.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var attempts = new StrongBox<int>();
        request.Options.Set(Attempts, attempts);
        try
        {
            using var response = await client.SendAsync(request, _stopping.Token);
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref target.Delivered);
                return true;
            }

            await AddDeadLetterAsync(target, alert, attempts.Value, (int)response.StatusCode, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException && !_stopping.IsCancellationRequested)
        {
            await AddDeadLetterAsync(target, alert, attempts.Value, null, e is HttpRequestException ? e.Message : "timed out");
            return true;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task AddDeadLetterAsync(Target target, Alert alert, int attempts, int? status, string error)
    {
        Interlocked.Increment(ref target.Failed);
        _logger.LogWarning("Webhook {Webhook} gave up on alert {Alert} after {Attempts} attempts: {Error}", target.Options.DisplayName, alert.Id, attempts, error);
        var letter = new DeadLetter(target.Options.DisplayName, alert.Id, alert.Org, alert.Site, alert.Type, alert.State.ToWireName(), attempts, status, error, _time.GetUtcNow(), _ledger?.Node);
        if (_ledger is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(LedgerTimeout);
                await _ledger.AddDeadLetterAsync(letter, timeout.Token);
            }
            catch (Exception e)
            {
                _logger.LogWarning("Webhook {Webhook}: the dead letter of alert {Alert} did not reach the cluster's list ({Error})", target.Options.DisplayName, alert.Id, e.Message);
            }

            return;
        }

        lock (_deadLetters)
        {
            _deadLetters.AddLast(letter);
            while (_deadLetters.Count > _delivery.Value.DeadLetterCapacity)
            {
                _deadLetters.RemoveFirst();
            }
        }
    }

    // Not cancelled by the stop: a delivery made is recorded, so the next owner does not send it again.
    private async Task AdvanceAsync(Target target, Alert alert)
    {
        try
        {
            using var timeout = new CancellationTokenSource(LedgerTimeout);
            await _ledger!.AdvanceAsync(target.Options.DisplayName, alert.Org, alert.Site, alert.Id, timeout.Token);
        }
        catch (Exception e)
        {
            _logger.LogWarning("Webhook {Webhook}: the delivery cursor of {Org}/{Site} was not moved to alert {Alert} ({Error}); a next owner may send it again", target.Options.DisplayName, alert.Org, alert.Site, alert.Id, e.Message);
        }
    }

    private sealed record SiteOwnership(string Org, string Site, bool Owned);

    private sealed class Target(WebhookOptions options, int capacity)
    {
        public long Delivered;
        public long Failed;

        public WebhookOptions Options { get; } = options;

        public Channel<Alert> Queue { get; } = Channel.CreateBounded<Alert>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

        public bool WantsSite(string org, string site) =>
            (Options.Org is null || Options.Org == org) && (Options.Sites.Count == 0 || Options.Sites.Contains(site));

        public bool Wants(Alert alert) =>
            WantsSite(alert.Org, alert.Site)
            && (Options.Types.Count == 0 || Options.Types.Contains(alert.Type))
            && (Options.Resolved || alert.State == AlertState.Firing);
    }
}

/// <summary>A webhook's counters.</summary>
public sealed record WebhookStatus(string Name, string Url, string? Org, long Delivered, long Failed, int Queued);

/// <summary>An alert a webhook could not deliver after every attempt; in cluster mode, the node that tried (its <see cref="Node"/>).</summary>
public sealed record DeadLetter(
    string Webhook,
    long AlertId,
    string Org,
    string Site,
    string Type,
    string State,
    int Attempts,
    int? Status,
    string Error,
    DateTimeOffset At,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Node = null);

/// <summary>Counts the attempts of one delivery: it sits inside the retry handler, so it sees each one.</summary>
internal sealed class AttemptCounter : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(WebhookDispatcher.Attempts, out var attempts))
        {
            Interlocked.Increment(ref attempts.Value);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
