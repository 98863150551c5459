using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wattstream.Emulators.Shelly;
using Wattstream.Emulators.Tasmota;
using Wattstream.Telemetry;

namespace Wattstream.Emulators.Mqtt;

/// <summary>The broker could not be reached or refused the devices: the message says which broker and why (never a password).</summary>
public sealed class MqttEmulatorException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A fleet of MQTT devices (<see cref="MqttDeviceFamily"/>) on one broker, each as the real one behaves: a connection of
/// its own with a retained last will on its availability topic, the retained online message once connected, then a
/// report every interval from its own simulated meter; it reconnects when the broker goes. Disposing it stops the
/// devices as a clean shutdown does (offline published, then DISCONNECT); <see cref="Abort"/> drops the connections
/// without a word, so the broker publishes each last will.
/// </summary>
public sealed class MqttDeviceEmulator : IAsyncDisposable
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);
    private readonly MqttEmulatorOptions _options;
    private readonly Device[] _devices;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly MqttQualityOfServiceLevel _qos;

    // Full jitter, as the hub's sources reconnect: a fleet that lost its broker does not come back all in one second.
    private readonly Backoff _backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    private Task? _loop;
    private long _published;
    private long _failed;
    private long _lastFailureLog;
    private bool _disposed;

    private MqttDeviceEmulator(MqttEmulatorOptions options, IEmulatedMqttDevice[] devices, ILogger log, TimeProvider time)
    {
        _options = options;
        _log = log;
        _time = time;
        _qos = options.Qos == 1 ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce;
        var factory = new MqttClientFactory();
        _devices = [.. devices.Select(d => new Device(d, factory.CreateMqttClient()))];
    }

    /// <summary>The devices, in fleet order.</summary>
    public IReadOnlyList<IEmulatedMqttDevice> Devices => [.. _devices.Select(d => d.Emulated)];

    /// <summary>Messages the broker took (QoS 1: acknowledged; QoS 0: written).</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages not published: the device was not connected, or the broker refused.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Devices connected now.</summary>
    public int ConnectedDevices => _devices.Count(d => d.Client.IsConnected);

    /// <summary>The broker as shown: scheme, host and port, never credentials.</summary>
    public string BrokerText => _options.Broker.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);

    /// <exception cref="ArgumentException">The options do not make a fleet (<see cref="MqttEmulatorOptions.Errors"/>).</exception>
    public static MqttDeviceEmulator Create(MqttDeviceFamily family, MqttEmulatorOptions options, ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Errors().FirstOrDefault() is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }

        time ??= TimeProvider.System;
        var start = time.GetUtcNow();
        var seed = options.Seed ?? Random.Shared.Next();
        var zone = options.TimeZone ?? TimeZoneInfo.Local;
        var devices = new IEmulatedMqttDevice[options.Devices];
        for (var i = 0; i < devices.Length; i++)
        {
            devices[i] = family switch
            {
                MqttDeviceFamily.Tasmota => new EmulatedTasmotaMeter(options.TopicPrefix ?? "tasmota", i, seed, start, zone),
                _ => new EmulatedShellyPro3Em(options.TopicPrefix ?? "shellypro3em", i, seed, start, zone),
            };
        }

        var log = (ILogger?)loggers?.CreateLogger<MqttDeviceEmulator>() ?? NullLogger.Instance;
        return new MqttDeviceEmulator(options, devices, log, time);
    }

    /// <summary>Connects every device (online, then what it says on connecting), reports once, and goes on every interval.</summary>
    /// <exception cref="MqttEmulatorException">The broker cannot be reached, or refused a device.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            await Parallel.ForEachAsync(_devices, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (device, token) =>
                await ConnectAsync(device, token));
        }
        catch (MqttRefusedException e)
        {
            throw new MqttEmulatorException($"the broker {BrokerText} refused the device: {e.Message}", e);
        }
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new MqttEmulatorException($"cannot connect to the broker {BrokerText}: {e.Message}", e);
        }

        await ReportAsync(_time.GetUtcNow(), _stopping.Token);
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Every device reports what its meter measures at <paramref name="now"/> (the loop's tick; tests call it with their own times).</summary>
    internal async Task ReportAsync(DateTimeOffset now, CancellationToken stopping)
    {
        var reports = new Task[_devices.Length];
        for (var i = 0; i < _devices.Length; i++)
        {
            reports[i] = ReportAsync(_devices[i], now, stopping);
        }

        await Task.WhenAll(reports);
    }

    private async Task ReportAsync(Device device, DateTimeOffset now, CancellationToken stopping)
    {
        // The meter measures whether or not the device is connected: its registers go on counting.
        var messages = device.Emulated.Report(now);
        if (!device.Client.IsConnected)
        {
            Interlocked.Add(ref _failed, messages.Count);
            Reconnect(device, now, stopping);
            return;
        }

        foreach (var message in messages)
        {
            await PublishAsync(device, message, _qos, stopping);
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.Interval, _time);
        try
        {
            // A tick that takes longer than the interval (a broker slower than the fleet) skips the ticks it overran.
            while (await timer.WaitForNextTickAsync(stopping))
            {
                await ReportAsync(_time.GetUtcNow(), stopping);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ConnectAsync(Device device, CancellationToken token)
    {
        // MQTTnet 5 answers a refused CONNECT with its result code rather than an exception.
        var connected = await device.Client.ConnectAsync(ClientOptions(device.Emulated), token);
        if (connected.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new MqttRefusedException(connected.ResultCode switch
            {
                MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized when _options.Username is null => "it asks for a user name and password (--username, --password)",
                MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized => "wrong user name or password",
                var code => code.ToString(),
            });
        }

        await PublishAsync(device, new MqttDeviceMessage(device.Emulated.AvailabilityTopic, device.Emulated.OnlinePayload, Retain: true), MqttQualityOfServiceLevel.AtLeastOnce, token);
        foreach (var message in device.Emulated.Connected(_time.GetUtcNow()))
        {
            await PublishAsync(device, message, _qos, token);
        }
    }

    // A device that lost the broker tries again after a pause that doubles up to 30 s, in the background: the others go on.
    private void Reconnect(Device device, DateTimeOffset now, CancellationToken stopping)
    {
        if (now < device.NextAttempt || Interlocked.Exchange(ref device.Connecting, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await ConnectAsync(device, stopping);
                device.FailedAttempts = 0;
                _log.LogInformation("{Device}: connected to {Broker} again", device.Emulated.Name, BrokerText);
            }
            catch (Exception e) when (e is MqttCommunicationException or MqttRefusedException or OperationCanceledException or InvalidOperationException)
            {
                var delay = _backoff.Delay(device.FailedAttempts++);
                device.NextAttempt = _time.GetUtcNow() + delay;
                LogFailure("{Device}: cannot reach {Broker} ({Reason}); trying again in {Backoff}", device.Emulated.Name, BrokerText, e.Message, delay);
            }
            finally
            {
                Volatile.Write(ref device.Connecting, 0);
            }
        }, CancellationToken.None);
    }

    private async Task PublishAsync(Device device, MqttDeviceMessage message, MqttQualityOfServiceLevel qos, CancellationToken token)
    {
        var built = new MqttApplicationMessageBuilder()
            .WithTopic(message.Topic)
            .WithPayload(message.Payload)
            .WithRetainFlag(message.Retain)
            .WithQualityOfServiceLevel(qos)
            .Build();
        try
        {
            var result = await device.Client.PublishAsync(built, token);
            if (result.IsSuccess)
            {
                Interlocked.Increment(ref _published);
                return;
            }

            Interlocked.Increment(ref _failed);
            LogFailure("{Device}: the broker refused a publish on {Topic}: {Reason}", device.Emulated.Name, message.Topic, result.ReasonCode);
        }
        catch (Exception e) when (e is MqttCommunicationException or InvalidOperationException && !token.IsCancellationRequested)
        {
            // The connection went between the check and the publish: the next tick reconnects.
            Interlocked.Increment(ref _failed);
        }
    }

    // At most one failure line every 10 s for the whole fleet: a broker gone makes every device fail at once.
    private void LogFailure(string message, params object?[] args)
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastFailureLog);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= LogEvery) && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
#pragma warning disable CA2254 // the templates are this class's own constants
            _log.LogWarning(message, args);
#pragma warning restore CA2254
        }
    }

    private MqttClientOptions ClientOptions(IEmulatedMqttDevice device)
    {
        var broker = _options.Broker;
        var secure = broker.Scheme == "mqtts";
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(device.ClientId)
            .WithTcpServer(broker.Host, broker.Port > 0 ? broker.Port : secure ? 8883 : 1883)
            .WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30)) // Tasmota's MqttKeepAlive default; the broker notices a silent device within 45 s
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(device.AvailabilityTopic)
            .WithWillPayload(device.OfflinePayload)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_options.Username is { } username)
        {
            builder.WithCredentials(username, _options.Password);
        }

        if (secure)
        {
            builder.WithTlsOptions(tls => tls.UseTls());
        }

        return builder.Build();
    }

    /// <summary>
    /// Drops every connection without a DISCONNECT, as a device losing power does: the broker publishes each device's last
    /// will. The emulator reports no more.
    /// </summary>
    public async Task AbortAsync()
    {
        await StopLoopAsync();
        foreach (var device in _devices)
        {
            device.Client.Dispose();
        }

        _disposed = true;
        _stopping.Dispose();
    }

    /// <summary>A clean shutdown: each device publishes its offline message (retained), then disconnects.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopLoopAsync();
        await Parallel.ForEachAsync(_devices, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (device, _) =>
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                if (device.Client.IsConnected)
                {
                    await PublishAsync(device, new MqttDeviceMessage(device.Emulated.AvailabilityTopic, device.Emulated.OfflinePayload, Retain: true), MqttQualityOfServiceLevel.AtLeastOnce, bounded.Token);
                    await device.Client.DisconnectAsync(new MqttClientDisconnectOptions(), bounded.Token);
                }
            }
            catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                // Gone already: the broker has published the last will instead.
            }

            device.Client.Dispose();
        });
        _stopping.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync();
        }

        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private sealed class MqttRefusedException(string reason) : Exception(reason);

    private sealed class Device(IEmulatedMqttDevice emulated, IMqttClient client)
    {
        public IEmulatedMqttDevice Emulated { get; } = emulated;

        public IMqttClient Client { get; } = client;

        public DateTimeOffset NextAttempt { get; set; }

        public int FailedAttempts { get; set; }

        public int Connecting;
    }
}
