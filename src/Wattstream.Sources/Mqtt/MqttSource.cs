using System.Net.Security;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using Wattstream.Hub.Status;
using Wattstream.Sources.Mqtt.Formats;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Tls;

namespace Wattstream.Sources.Mqtt;

/// <summary>
/// An MQTT broker's topics as a source (<c>Kind=mqtt</c>): subscribes to the format's topics (or <c>Topics</c>) and turns
/// each message into readings with the format (<c>Format=tasmota</c>, …). The connection's own keep-alive is the
/// watchdog (devices report every few minutes at most, and a quiet broker is not a dead one); a lost connection is
/// retried with the sources' backoff; a refused user name or password is AUTH_FAILED.
/// </summary>
/// <remarks>
/// Each message is read by <see cref="MqttMessageReader"/>, as the embedded broker reads its devices' messages.
/// Retained messages the broker hands over at subscribe are what a device said before: they are published only when
/// they carry the device's own time and it is newer than the DER's last reading (then with that time), so a reconnect
/// does not repeat the last reading. A device's last will (Tasmota's <c>LWT</c> <c>Offline</c>) is its DERs' status.
/// What the format asks to publish (<see cref="IMqttFormat.Requests"/>: Venus OS's keepalive) is sent right after
/// subscribing and then as the format says it is due, checked every second.
/// </remarks>
public sealed class MqttSource : TelemetrySource, IMqttReadingTarget
{
    private static readonly TimeSpan KeepAlivePeriod = TimeSpan.FromSeconds(15);
    private readonly IMqttFormat _format;
    private readonly MqttMessageReader _reader;
    private readonly MqttClientFactory _factory = new();
    private readonly PrivateCa? _ca;

    public MqttSource(SourceOptions options, SourceContext context)
        : base(options, context)
    {
        if (!MqttFormats.IsKnown(options.Format))
        {
            throw new ArgumentException($"Source {options.Id}: Format must be one of {string.Join(", ", MqttFormats.Names)}.");
        }

        _format = MqttFormats.Create(options.Format!, new MqttAddressing(options));
        _reader = new MqttMessageReader(_format, this, context.Timing.MaxEventBytes);
        _ca = PrivateCa.FromPemFile(options.CaFile); // one CA, or a bundle of several
    }

    /// <summary>The topic filters this source subscribes to.</summary>
    public IReadOnlyList<string> Topics => Options.Topics.Length > 0 ? Options.Topics : _format.DefaultTopics;

    public static bool IsBrokerUrl(Uri url) =>
        url is { IsAbsoluteUri: true, Scheme: "mqtt" or "mqtts" or "ws" or "wss" } && !string.IsNullOrEmpty(url.Host);

    protected override async Task ReadAsync(SourceSession session, CancellationToken cancellationToken)
    {
        using var client = _factory.CreateMqttClient();
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += e =>
        {
            lost.TrySetResult(e.Exception?.Message ?? e.ReasonString ?? e.Reason.ToString());
            return Task.CompletedTask;
        };
        client.ApplicationMessageReceivedAsync += e =>
        {
            Receive(session, e.ApplicationMessage);
            return Task.CompletedTask;
        };

        MqttClientConnectResult connected;
        try
        {
            connected = await client.ConnectAsync(ClientOptions(), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new IOException($"MQTT: {e.Message}", e);
        }

        // MQTTnet 5 answers a refused CONNECT with its result code rather than an exception.
        if (connected.ResultCode is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized)
        {
            throw new SourceAuthenticationException(Options.Username is null
                ? "the broker asks for a user name and password and none is configured"
                : "the broker refused the user name or password");
        }

        if (connected.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new IOException($"MQTT: the broker refused the connection ({connected.ResultCode})");
        }

        try
        {
            session.Connected();
            await SubscribeAsync(client, cancellationToken);
            await PublishRequestsAsync(client, connected: true, cancellationToken);

            // While the connection (and its pings) lives, the source is not idle, however quiet its devices are.
            using var keepAlive = new PeriodicTimer(TimeSpan.FromSeconds(1), Context.Time);
            while (!lost.Task.IsCompleted)
            {
                var tick = keepAlive.WaitForNextTickAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(tick, lost.Task) == tick)
                {
                    await tick; // throws when stopping
                    if (client.IsConnected)
                    {
                        session.KeepAlive();
                        await PublishRequestsAsync(client, connected: false, cancellationToken);
                    }
                }
            }

            throw new IOException($"MQTT: the broker connection was lost ({await lost.Task})");
        }
        finally
        {
            if (client.IsConnected)
            {
                using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await client.DisconnectAsync(new MqttClientDisconnectOptions(), bye.Token);
                }
                catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException or InvalidOperationException)
                {
                    // The connection goes either way.
                }
            }
        }
    }

    private async Task SubscribeAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        var qos = Options.Qos == 1 ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce;
        var subscribe = _factory.CreateSubscribeOptionsBuilder();
        foreach (var topic in Topics)
        {
            subscribe.WithTopicFilter(topic, qos);
        }

        MqttClientSubscribeResult result;
        try
        {
            result = await client.SubscribeAsync(subscribe.Build(), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new IOException($"MQTT: subscribing failed: {e.Message}", e);
        }

        // A broker's ACL refuses a subscription in its answer (0x80 and up), not by closing the connection.
        var refused = result.Items.Where(i => (int)i.ResultCode >= 0x80).Select(i => i.TopicFilter.Topic).ToArray();
        if (refused.Length > 0)
        {
            throw new SourceAuthenticationException($"the broker refused the subscription to {string.Join(", ", refused)}");
        }
    }

    // What the format asks to publish (Venus's keepalive): a failed publish is a lost connection, retried as one.
    private async Task PublishRequestsAsync(IMqttClient client, bool connected, CancellationToken cancellationToken)
    {
        foreach (var request in _format.Requests(Context.Time.GetUtcNow(), connected))
        {
            try
            {
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(request.Topic).WithPayload(request.Payload).Build(), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new IOException($"MQTT: publishing to {Excerpt.Of(request.Topic, 120)} failed: {e.Message}", e);
            }
        }
    }

    private MqttClientOptions ClientOptions()
    {
        var url = Options.Url!;
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(string.IsNullOrEmpty(Options.ClientId) ? $"wattstream-{Options.Id}" : Options.ClientId)
            .WithCleanSession(!Options.PersistentSession)
            .WithKeepAlivePeriod(KeepAlivePeriod)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (Options.Username is { } username)
        {
            builder.WithCredentials(username, Options.Password);
        }

        var secure = url.Scheme is "mqtts" or "wss";
        if (url.Scheme is "ws" or "wss")
        {
            builder.WithWebSocketServer(o => o.WithUri(url.GetComponents(UriComponents.SchemeAndServer | UriComponents.PathAndQuery, UriFormat.UriEscaped)));
        }
        else
        {
            builder.WithTcpServer(url.Host, url.Port > 0 ? url.Port : secure ? 8883 : 1883);
        }

        if (secure)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls();
                if (_ca is not null)
                {
                    tls.WithCertificateValidationHandler(e => _ca.Trusts(e.Certificate, e.SslPolicyErrors));
                }
            });
        }

        return builder.Build();
    }

    private void Receive(SourceSession session, MqttApplicationMessage message)
    {
        var now = Context.Time.GetUtcNow();
        session.Touch(now);
        State.AddBytes(message.Payload.Length);
        _reader.Receive(message, message.Retain, now); // a retained message here is the broker's copy, delivered at subscribe
    }

    void IMqttReadingTarget.Publish(Reading reading) => Publish(reading);

    void IMqttReadingTarget.Availability(MqttAvailability availability)
    {
        foreach (var (der, type) in availability.Ders)
        {
            Declare(der, type);
            Context.Statuses.Set(der, type, availability.Online ? ConnectionStatus.Connected : ConnectionStatus.Disconnected, availability.Online ? null : "the device is offline (its last will)");
        }
    }

    void IMqttReadingTarget.Reject(string kind, string message) => Reject(kind, message);
}
