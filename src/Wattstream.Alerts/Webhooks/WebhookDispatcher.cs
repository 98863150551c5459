using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Evaluation;
using Wattstream.Hub;

namespace Wattstream.Alerts.Webhooks;

/// <summary>
/// Posts alerts to the configured webhooks, signed. Each webhook has its own queue and sender, fed by one feed
/// subscription: a slow or failing receiver delays only itself, never evaluation or another receiver. Retries (with
/// exponential backoff and jitter) are the resilience handler's (<see cref="AlertWebhookSetup"/>); what still fails
/// goes to the dead-letter list.
/// </summary>
public sealed class WebhookDispatcher(
    AlertFeed feed,
    IHttpClientFactory clients,
    IOptions<AlertsOptions> options,
    IOptions<WebhookDeliveryOptions> delivery,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : IHostedService, IDisposable
{
    public const string ClientName = "alert-webhooks";

    internal static readonly HttpRequestOptionsKey<StrongBox<int>> Attempts = new("wattstream.attempts");

    private readonly List<Target> _targets = [.. options.Value.Webhooks.Select(w => new Target(w, delivery.Value.QueueCapacity))];
    private readonly LinkedList<DeadLetter> _deadLetters = new();
    private readonly CancellationTokenSource _stopping = new();
    private FeedSubscription<Alert>? _subscription;
    private Task _fanOut = Task.CompletedTask;
    private Task[] _senders = [];

    /// <summary>Each webhook's counters (its URL without query or credentials).</summary>
    public IReadOnlyList<WebhookStatus> Statuses() => [.. _targets.Select(t => new WebhookStatus(t.Options.DisplayName, t.Options.SafeUrl, t.Options.Org, t.Delivered, t.Failed, t.Queue.Reader.Count))];

    /// <summary>The newest failed deliveries first.</summary>
    public IReadOnlyList<DeadLetter> DeadLetters()
    {
        lock (_deadLetters)
        {
            return [.. _deadLetters.Reverse()];
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_targets.Count == 0)
        {
            return Task.CompletedTask;
        }

        _subscription = feed.Subscribe(capacity: delivery.Value.QueueCapacity);
        _fanOut = FanOutAsync(_subscription);
        _senders = [.. _targets.Select(SendAllAsync)];
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        await _stopping.CancelAsync();
        await Task.WhenAll([_fanOut, .. _senders]).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task FanOutAsync(FeedSubscription<Alert> subscription)
    {
        while (await subscription.WaitToReadAsync(CancellationToken.None))
        {
            while (subscription.TryRead(out var alert))
            {
                foreach (var target in _targets)
                {
                    if (target.Wants(alert) && !target.Queue.Writer.TryWrite(alert))
                    {
                        AddDeadLetter(target, alert, 0, null, "queue full: the receiver is too far behind");
                    }
                }
            }
        }

        foreach (var target in _targets)
        {
            target.Queue.Writer.TryComplete();
        }
    }

    private async Task SendAllAsync(Target target)
    {
        var client = clients.CreateClient(ClientName);
        try
        {
            await foreach (var alert in target.Queue.Reader.ReadAllAsync(_stopping.Token))
            {
                await SendAsync(client, target, alert);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(HttpClient client, Target target, Alert alert)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
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
                return;
            }

            AddDeadLetter(target, alert, attempts.Value, (int)response.StatusCode, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException && !_stopping.IsCancellationRequested)
        {
            AddDeadLetter(target, alert, attempts.Value, null, e is HttpRequestException ? e.Message : "timed out");
        }
    }

    private void AddDeadLetter(Target target, Alert alert, int attempts, int? status, string error)
    {
        Interlocked.Increment(ref target.Failed);
        logger.LogWarning("Webhook {Webhook} gave up on alert {Alert} after {Attempts} attempts: {Error}", target.Options.DisplayName, alert.Id, attempts, error);
        lock (_deadLetters)
        {
            _deadLetters.AddLast(new DeadLetter(target.Options.DisplayName, alert.Id, alert.Org, alert.Site, alert.Type, alert.State.ToWireName(), attempts, status, error, time.GetUtcNow()));
            while (_deadLetters.Count > delivery.Value.DeadLetterCapacity)
            {
                _deadLetters.RemoveFirst();
            }
        }
    }

    private sealed class Target(WebhookOptions options, int capacity)
    {
        public long Delivered;
        public long Failed;

        public WebhookOptions Options { get; } = options;

        public Channel<Alert> Queue { get; } = Channel.CreateBounded<Alert>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

        public bool Wants(Alert alert) =>
            (Options.Org is null || Options.Org == alert.Org)
            && (Options.Sites.Count == 0 || Options.Sites.Contains(alert.Site))
            && (Options.Types.Count == 0 || Options.Types.Contains(alert.Type))
            && (Options.Resolved || alert.State == AlertState.Firing);
    }
}

/// <summary>A webhook's counters.</summary>
public sealed record WebhookStatus(string Name, string Url, string? Org, long Delivered, long Failed, int Queued);

/// <summary>An alert a webhook could not deliver after every attempt.</summary>
public sealed record DeadLetter(string Webhook, long AlertId, string Org, string Site, string Type, string State, int Attempts, int? Status, string Error, DateTimeOffset At);

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
