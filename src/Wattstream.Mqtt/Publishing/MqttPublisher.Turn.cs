using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using Wattstream.Hub;
using Wattstream.Streaming.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Mqtt.Publishing;

public sealed partial class MqttPublisher
{
    /// <summary>
    /// One holder's turn at publishing: its own broker connection (reconnected with backoff), its own queues opened on the
    /// hub's present, and what it has announced to Home Assistant on which connection.
    /// </summary>
    private sealed class Turn(MqttPublisher publisher) : IDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private HubSubscription[] _readings = []; // set once when the turn starts; read by Status from any thread
        private readonly ConcurrentDictionary<DerAddress, Announced> _ders = new();
        private readonly ConcurrentDictionary<(string Org, string Site), Announced> _sites = new();
        private IFeedMessages? _summaryMessages;
        private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _generation; // grows with every connection: what a new connection has not announced yet goes out again

        public bool Connected => _client.IsConnected;

        public long Dropped => _readings.Sum(q => q.Dropped) + (_summaryMessages?.Dropped ?? 0);

        public async Task RunAsync(CancellationToken owned)
        {
            _client.DisconnectedAsync += _ =>
            {
                // Publishes wait for the next connection from now on.
                if (Volatile.Read(ref _connected).Task.IsCompleted)
                {
                    Volatile.Write(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }

                Volatile.Read(ref _disconnected).TrySetResult();
                return Task.CompletedTask;
            };

            // Each DER's last value first, then live: a new holder publishes the present it takes over, and a single node
            // publishes what arrived before this turn began. An org not chosen never reaches these queues.
            var patterns = publisher._orgs is null ? [SubjectPattern.All] : publisher._orgs.Select(o => SubjectPattern.Parse($"orgs.{o}.>"));
            _readings = [.. patterns.Select(p => publisher._hub.Subscribe(p, new SubscribeOptions { QueueCapacity = publisher._options.QueueCapacity, StartWithLastValues = true }))];

            _summaryMessages = publisher._summaries?.OpenPublication(Math.Min(publisher._options.QueueCapacity, 4096));
            using var end = owned.Register(() =>
            {
                foreach (var queue in _readings)
                {
                    queue.Dispose();
                }

                _summaryMessages?.Dispose();
            });

            var connection = Task.Run(() => KeepConnectedAsync(owned), CancellationToken.None);
            var pumps = _readings.Select(q => Task.Run(() => PublishReadingsAsync(q, owned), CancellationToken.None)).ToList();
            if (_summaryMessages is { } summaries)
            {
                pumps.Add(Task.Run(() => PublishSummariesAsync(summaries, owned), CancellationToken.None));
            }

            await Task.WhenAll(pumps);
            await connection;
            await SayOfflineAsync();
        }

        public void Dispose() => _client.Dispose();

        // A turn that ends says so itself: a normal disconnect makes the broker discard the last will.
        private async Task SayOfflineAsync()
        {
            if (!_client.IsConnected)
            {
                return;
            }

            try
            {
                using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.PublishAsync(Message(publisher._discovery.StatusTopic, OfflinePayload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), bye.Token);
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), bye.Token);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                publisher._log.LogWarning("MQTT: could not say offline at {Url} ({Error}); the broker sends the last will instead", publisher.SafeUrl, e.GetType().Name);
            }
        }

        // Connects, says online, waits for the connection to end, and again, with backoff, until the turn ends.
        private async Task KeepConnectedAsync(CancellationToken owned)
        {
            var attempt = 0;
            while (!owned.IsCancellationRequested)
            {
                var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _disconnected, disconnected);
                try
                {
                    var result = await _client.ConnectAsync(publisher.ClientOptions(), owned);
                    if (result.ResultCode != MqttClientConnectResultCode.Success)
                    {
                        throw new MqttRefusedException(result.ResultCode.ToString());
                    }

                    await _client.PublishAsync(Message(publisher._discovery.StatusTopic, OnlinePayload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), owned);
                    Interlocked.Increment(ref _generation);
                    publisher._log.LogInformation("MQTT: connected to {Url}", publisher.SafeUrl);
                    attempt = 0;
                    Volatile.Read(ref _connected).TrySetResult();
                    await disconnected.Task.WaitAsync(owned);
                    publisher._log.LogWarning("MQTT: disconnected from {Url}; reconnecting", publisher.SafeUrl);
                }
                catch (OperationCanceledException) when (owned.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or MqttRefusedException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
                {
                    // MQTTnet's connect exception says what the broker answered (e.g. BadUserNameOrPassword); never the credentials.
                    publisher._log.LogWarning("MQTT: cannot connect to {Url}: {Error}", publisher.SafeUrl, e is MqttRefusedException ? e.Message : e.GetType().Name + ": " + e.Message);
                }

                try
                {
                    await Task.Delay(publisher._backoff.Delay(attempt++), owned);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private async Task PublishReadingsAsync(HubSubscription queue, CancellationToken owned)
        {
            try
            {
                while (await queue.WaitToReadAsync(CancellationToken.None))
                {
                    while (queue.TryRead(out var hubEvent))
                    {
                        await PublishReadingAsync(hubEvent, owned);
                    }
                }
            }
            catch (OperationCanceledException) when (owned.IsCancellationRequested)
            {
            }
        }

        private async Task PublishReadingAsync(HubEvent hubEvent, CancellationToken owned)
        {
            var reading = hubEvent.Reading;
            var der = reading.Der;
            var discovery = publisher._discovery;
            var announced = _ders.GetOrAdd(der, static (d, discovery) => new Announced(discovery.StateTopic(d)), discovery);
            var carried = HomeAssistantDiscovery.SensorsCarried(reading);
            var generation = Interlocked.Read(ref _generation);
            if (announced.Generation != generation || (carried & ~announced.Sensors) != 0 || announced.Type != reading.Type)
            {
                // What this connection has not announced yet (a new DER, a sensor it had not carried, a broker that
                // forgot nothing but a hub that reconnected): its retained configs, before its first state.
                var sensors = announced.Generation == generation && announced.Type == reading.Type ? carried | announced.Sensors : carried;
                foreach (var (topic, payload) in discovery.DerConfigs(der, reading.Type, sensors))
                {
                    await PublishAsync(Message(topic, payload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), owned);
                }

                announced.Sensors = sensors;
                announced.Type = reading.Type;
                announced.Generation = generation;
            }

            await PublishAsync(Message(announced.StateTopic, hubEvent.GetEncoded(publisher._stateFormat), retain: true, MqttQualityOfServiceLevel.AtMostOnce), owned);
        }

        private async Task PublishSummariesAsync(IFeedMessages summaries, CancellationToken owned)
        {
            try
            {
                while (await summaries.WaitToReadAsync())
                {
                    while (summaries.TryRead(out var message))
                    {
                        // orgs.{org}.sites.{site}.summary.json.v1
                        var tokens = message.Subject.Split('.');
                        if (tokens.Length < 4 || (publisher._orgs is { } orgs && !orgs.Contains(tokens[1])))
                        {
                            continue;
                        }

                        var (org, site) = (tokens[1], tokens[3]);
                        var generation = Interlocked.Read(ref _generation);
                        var announced = _sites.GetOrAdd((org, site), static (s, discovery) => new Announced(discovery.SummaryTopic(s.Org, s.Site)), publisher._discovery);
                        if (announced.Generation != generation)
                        {
                            var (topic, payload) = publisher._discovery.SiteConfig(org, site);
                            await PublishAsync(Message(topic, payload, retain: true, MqttQualityOfServiceLevel.AtLeastOnce), owned);
                            announced.Generation = generation;
                        }

                        await PublishAsync(Message(announced.StateTopic, message.Payload, retain: true, MqttQualityOfServiceLevel.AtMostOnce), owned);
                    }
                }
            }
            catch (OperationCanceledException) when (owned.IsCancellationRequested)
            {
            }
        }

        // Waits for a connection, then publishes; a publish that fails because the connection went is tried again on the
        // next one (nothing queued is skipped), one the broker refuses on an open connection is counted and skipped.
        private async Task PublishAsync(MqttApplicationMessage message, CancellationToken owned)
        {
            while (true)
            {
                await Volatile.Read(ref _connected).Task.WaitAsync(owned);
                try
                {
                    var result = await _client.PublishAsync(message, owned);
                    if (!result.IsSuccess)
                    {
                        Interlocked.Increment(ref publisher._failed);
                        publisher._log.LogWarning("MQTT: the broker refused a publish on {Topic}: {Reason}; skipped", message.Topic, result.ReasonCode);
                    }
                    else
                    {
                        Interlocked.Increment(ref publisher._published);
                    }

                    return;
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException && !owned.IsCancellationRequested)
                {
                    // Not connected (any more): the next connection comes after a pause at least, so this loop never spins.
                    await Task.Delay(100, owned);
                }
            }
        }
    }
}
