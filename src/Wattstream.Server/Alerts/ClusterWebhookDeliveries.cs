using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Wattstream.Alerts;
using Wattstream.Alerts.Webhooks;
using Wattstream.Nats;
using Wattstream.Nats.Cluster;
using Wattstream.Telemetry;

namespace Wattstream.Server.Alerts;

/// <summary>
/// Cluster mode's record of webhook deliveries (<see cref="IWebhookDeliveryLedger"/>): each webhook's cursor per site in
/// the KV bucket <c>wattstream_webhook_deliveries</c> (key <c>{webhook}/{org}/{site}</c>, value the alert id), and the
/// dead letters in the JetStream stream <c>WEBHOOK_DEAD_LETTERS</c>, which keeps the newest
/// <c>Alerts:WebhookDelivery:DeadLetterCapacity</c> and which every node reads into memory, so
/// <c>/api/alerts/deliveries</c> lists the same dead letters on every node. Both at <c>Nats:Replicas</c>.
/// </summary>
public sealed class ClusterWebhookDeliveries(
    ClusterNode node,
    ClusterAlertStream alerts,
    IOptions<AlertsOptions> alertOptions,
    IOptions<WebhookDeliveryOptions> delivery,
    ILogger<ClusterWebhookDeliveries> logger) : IWebhookDeliveryLedger, IHostedLifecycleService, IDisposable
{
    public const string CursorsBucket = "wattstream_webhook_deliveries";
    public const string DeadLettersStream = "WEBHOOK_DEAD_LETTERS";
    public const string DeadLettersSubject = "wattstream.webhooks.dead_letters.json.v1";

    private readonly LinkedList<DeadLetter> _deadLetters = new();
    private readonly CancellationTokenSource _stopping = new();
    private INatsKVStore? _cursors;
    private NatsJSContext? _js;
    private Task _reading = Task.CompletedTask;

    public string Node => node.Node;

    public long AlertsBeforeStart => alerts.LastSequenceAtStart;

    private INatsKVStore Cursors => _cursors ?? throw new InvalidOperationException("The webhook delivery ledger is not open yet.");

    // After the alert stream (registered after it), before the dispatcher starts sending.
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        // A webhook's cursors are kept under its name: two of one name would move each other's.
        var twice = alertOptions.Value.Webhooks.GroupBy(w => w.DisplayName, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (twice.Length > 0)
        {
            throw new InvalidOperationException(
                $"Alerts:Webhooks: with Nats:Cluster every webhook needs a name of its own (its delivery cursors are kept under it); give each a distinct Name. Used more than once: {string.Join(", ", twice)}");
        }

        if (alertOptions.Value.Webhooks.Count == 0)
        {
            return; // nothing to deliver: no bucket, no stream
        }

        var connection = node.Connection ?? throw new InvalidOperationException("The cluster node has no NATS connection.");
        _cursors = await JetStreamApi.SetUpAsync(
            c => connection.CreateKeyValueStoreContext().CreateOrUpdateStoreAsync(
                new NatsKVConfig(CursorsBucket)
                {
                    History = 1,
                    NumberOfReplicas = node.Options.Replicas,
                    Storage = NatsKVStorageType.File,
                    Description = "Wattstream: the newest alert of each site each webhook has finished with (docs/scaling.md)",
                },
                c),
            cancellationToken);
        _js = new NatsJSContext(connection);
        await JetStreamApi.SetUpAsync(
            c => _js.CreateOrUpdateStreamAsync(
                new StreamConfig(DeadLettersStream, [DeadLettersSubject])
                {
                    Storage = StreamConfigStorage.File,
                    MaxMsgs = delivery.Value.DeadLetterCapacity,
                    MaxAge = alertOptions.Value.Retention,
                    Discard = StreamConfigDiscard.Old,
                    NumReplicas = node.Options.Replicas,
                    Description = "Wattstream: webhook deliveries that failed every attempt, the newest kept",
                },
                c),
            cancellationToken);
        // Made again after a failure from the next sequence, so no dead letter is listed twice or skipped.
        var follower = new StreamFollower(_js, DeadLettersStream, startSequence: 1, "dead-letter list", logger);
        _reading = Task.Run(() => follower.RunAsync(KeepDeadLetter, _stopping.Token), CancellationToken.None);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _reading.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    public async Task<long> CursorAsync(string webhook, string org, string site, long initial, CancellationToken cancellationToken)
    {
        var key = Key(webhook, org, site);
        while (true)
        {
            if (await ReadAsync(key, cancellationToken) is { } held)
            {
                return held.Id;
            }

            // Made once: a node that made it at the same moment wins, and this one reads it.
            var created = await Cursors.TryCreateAsync(key, initial.ToString(CultureInfo.InvariantCulture), cancellationToken: cancellationToken);
            if (created.Success)
            {
                return initial;
            }
        }
    }

    public async Task AdvanceAsync(string webhook, string org, string site, long id, CancellationToken cancellationToken)
    {
        var key = Key(webhook, org, site);
        var value = id.ToString(CultureInfo.InvariantCulture);
        while (true)
        {
            // Compare-and-set, so a node that finished an older alert late never moves the cursor back.
            var held = await ReadAsync(key, cancellationToken);
            if (held is { } h && h.Id >= id)
            {
                return;
            }

            var written = held is { } current
                ? (await Cursors.TryUpdateAsync(key, value, current.Revision, cancellationToken: cancellationToken)).Success
                : (await Cursors.TryCreateAsync(key, value, cancellationToken: cancellationToken)).Success;
            if (written)
            {
                return;
            }
        }
    }

    public async Task AddDeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        var ack = await Js.PublishAsync(DeadLettersSubject, JsonSerializer.SerializeToUtf8Bytes(letter, DeadLetterJson.Default.DeadLetter), cancellationToken: cancellationToken);
        ack.EnsureSuccess();
    }

    public IReadOnlyList<DeadLetter> DeadLetters()
    {
        lock (_deadLetters)
        {
            return [.. _deadLetters.Reverse()];
        }
    }

    private NatsJSContext Js => _js ?? throw new InvalidOperationException("The webhook delivery ledger is not open yet.");

    // The webhook's name is encoded (it may hold any character); org and site are tokens: the key's last two parts.
    private static string Key(string webhook, string org, string site) => $"{ClusterBuckets.Encode(webhook)}/{org}/{site}";

    private async Task<(long Id, ulong Revision)?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var entry = await Cursors.TryGetEntryAsync<string>(key, cancellationToken: cancellationToken);
        if (!entry.Success)
        {
            return entry.Error is NatsKVKeyNotFoundException or NatsKVKeyDeletedException ? null : throw entry.Error;
        }

        return long.TryParse(entry.Value.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? (id, entry.Value.Revision)
            : (0, entry.Value.Revision); // unreadable: as if none was finished (sending again beats losing)
    }

    // Every dead letter the stream holds, then each new one, into memory (the newest DeadLetterCapacity).
    private ValueTask KeepDeadLetter(INatsJSMsg<byte[]> message, NatsJSMsgMetadata metadata, CancellationToken stopping)
    {
        if (Parse(message.Data) is { } letter)
        {
            lock (_deadLetters)
            {
                _deadLetters.AddLast(letter);
                while (_deadLetters.Count > delivery.Value.DeadLetterCapacity)
                {
                    _deadLetters.RemoveFirst();
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    // Another publisher's message on the subject is no dead letter of ours: skipped.
    private static DeadLetter? Parse(byte[]? body)
    {
        try
        {
            return body is { Length: > 2 } ? JsonSerializer.Deserialize(body, DeadLetterJson.Default.DeadLetter) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(DeadLetter))]
internal sealed partial class DeadLetterJson : JsonSerializerContext;
