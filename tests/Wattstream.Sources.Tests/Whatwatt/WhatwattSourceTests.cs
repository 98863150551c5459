using Wattstream.Emulators.Faults;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests;

public class WhatwattSourceTests
{
    private static async Task<WhatwattEmulator> EmulatorAsync(string? password = "secret", DeviceAuth auth = DeviceAuth.Digest, double interval = 1, int port = 0, FaultKind[]? faults = null, int faultEvery = 3)
    {
        var emulator = WhatwattEmulator.Create(
            new WhatwattEmulatorOptions { Port = port, Password = password, Auth = auth, Interval = TimeSpan.FromSeconds(interval), Faults = faults ?? [], FaultEvery = faultEvery, Seed = 5 },
            _ => { });
        await emulator.StartAsync();
        return emulator;
    }

    private static SourceOptions Options(WhatwattEmulator emulator, string? password = "secret") => new()
    {
        Id = "home",
        Kind = SourceKind.Whatwatt,
        Url = emulator.BaseAddress,
        Password = password,
        Org = "acme",
        Site = "home",
        Der = "62124022449",
        TimeZone = "UTC",
    };

    [Theory]
    [InlineData(DeviceAuth.Digest)]
    [InlineData(DeviceAuth.Basic)]
    public async Task Readings_flow_from_the_device_with_its_own_time(DeviceAuth auth)
    {
        await using var emulator = await EmulatorAsync(auth: auth);
        var options = Options(emulator);
        options.AuthScheme = auth == DeviceAuth.Basic ? Http.AuthScheme.Basic : Http.AuthScheme.Digest; // Basic only when allowed
        await using var harness = new SourceHarness(options);

        var readings = await harness.ReadingsAsync(3);

        Assert.All(readings, e =>
        {
            Assert.Equal("orgs.acme.sites.home.devices.home.ders.62124022449.telemetry.json.v1", e.Subject);
            Assert.Equal(DerType.Meter, e.Reading.Type);
            // The device's Date/Time (whole seconds); readings that share a device second are numbered +0, +1 … ms.
            Assert.InRange(e.Reading.Timestamp % 1000, 0, 9);
            Assert.NotNull(e.Reading.Get(Quantity.VoltageL1, Unit.Volt));
        });
        Assert.Equal(ConnectionStatus.Connected, harness.Source.State.Status);
        Assert.True(harness.Source.State.Bytes > 0);
        Assert.Equal(0, emulator.Verifier.Failures);
    }

    [Fact]
    public async Task Polling_the_report_yields_meter_readings_with_the_same_auth()
    {
        await using var emulator = await EmulatorAsync(interval: 0.2);
        var options = Options(emulator);
        options.PollReport = TimeSpan.FromMilliseconds(300);
        await using var harness = new SourceHarness(options);

        var readings = await harness.ReadingsAsync(3);

        Assert.All(readings, e =>
        {
            Assert.Equal(DerType.Meter, e.Reading.Type);
            Assert.NotNull(e.Reading.Get(Quantity.EnergyImport, Unit.KilowattHour));
            Assert.InRange(e.Reading.Get(Quantity.VoltageL2, Unit.Volt)!.Value, 220, 240);
        });
        Assert.Equal(0, emulator.Verifier.Failures);
        Assert.Equal(0, emulator.ConnectedClients); // no live stream was opened
    }

    [Fact]
    public async Task A_wrong_password_is_auth_failed_without_a_tight_retry_loop()
    {
        await using var emulator = await EmulatorAsync();
        await using var harness = new SourceHarness(Options(emulator, password: "wrong"), new SourceTimingOptions
        {
            BackoffBase = TimeSpan.FromMilliseconds(10),
            BackoffCap = TimeSpan.FromMilliseconds(20),
            AuthFailedRetry = TimeSpan.FromSeconds(30),
        });

        await harness.WaitForStatusAsync(ConnectionStatus.AuthFailed);
        await Task.Delay(1500); // an observation window: with a 10 ms backoff a tight loop would retry ~100 times in it

        Assert.Equal(ConnectionStatus.AuthFailed, harness.Source.State.Status);
        Assert.Equal(1, emulator.Verifier.Failures); // one refused attempt, then a long wait
        Assert.Equal(ConnectionStatus.AuthFailed, harness.Statuses.Get(((Whatwatt.WhatwattSource)harness.Source).Meter)!.Status);
    }

    [Fact]
    public async Task A_stale_nonce_is_retried_once_and_the_stream_resumes()
    {
        await using var emulator = await EmulatorAsync(interval: 0.3);
        await using var harness = new SourceHarness(Options(emulator));
        using var sub = harness.Hub.Subscribe(SubjectPattern.All);
        await harness.ReadingsAsync(2, from: sub);

        // The device forgets its nonces; a second client takes the stream, so the source reconnects with its old nonce.
        emulator.Verifier.ExpireNonces();
        using var intruder = new HttpClient(new Http.DeviceAuthClientHandler("secret") { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = emulator.BaseAddress };
        using (await intruder.GetAsync("/api/v1/live", HttpCompletionOption.ResponseHeadersRead))
        {
        }

        // Readings queued before the takeover do not count: wait for the reconnect's retry, then for new readings.
        await Eventually.UntilAsync(() => ((Whatwatt.WhatwattSource)harness.Source).StaleNonceRetries >= 1, "the stale-nonce retry");
        while (sub.TryRead(out _))
        {
        }

        await harness.ReadingsAsync(3, from: sub);

        Assert.True(((Whatwatt.WhatwattSource)harness.Source).StaleNonceRetries >= 1);
        Assert.Equal(0, emulator.Verifier.Failures);
        Assert.True(emulator.Takeovers >= 1);
    }

    [Fact]
    public async Task After_an_emulator_restart_the_source_reconnects_without_duplicate_readings()
    {
        var emulator = await EmulatorAsync(interval: 0.5);
        var port = emulator.BaseAddress.Port;
        await using var harness = new SourceHarness(Options(emulator));
        using var sub = harness.Hub.Subscribe(SubjectPattern.All);
        await harness.ReadingsAsync(2, from: sub);

        await emulator.DisposeAsync();
        await harness.WaitForStatusAsync(ConnectionStatus.Disconnected);
        await using var restarted = await EmulatorAsync(interval: 0.5, port: port);
        await harness.WaitForStatusAsync(ConnectionStatus.Connected);
        var after = await harness.ReadingsAsync(3, from: sub);

        Assert.Equal(3, after.Count);
        Assert.True(harness.Source.State.Reconnects >= 1);
        // Every reading delivered once: no timestamp twice, ids in order.
        using var all = harness.Hub.Subscribe(SubjectPattern.All, new SubscribeOptions { ResumeAfter = 0 });
        var everything = new List<HubEvent>();
        while (all.TryRead(out var e))
        {
            everything.Add(e);
        }

        Assert.Equal(everything.Count, everything.Select(e => e.Reading.Timestamp).Distinct().Count());
    }

    [Fact]
    public async Task A_silent_device_is_marked_stale_then_connected_again()
    {
        // The emulator reports once at start and then not for an hour.
        await using var emulator = await EmulatorAsync(interval: 3600);
        await using var harness = new SourceHarness(Options(emulator), new SourceTimingOptions
        {
            BackoffBase = TimeSpan.FromMilliseconds(10),
            BackoffCap = TimeSpan.FromMilliseconds(50),
            IdleTimeout = TimeSpan.FromMilliseconds(600),
        });

        var seen = new List<ConnectionStatus>();
        var meter = ((Whatwatt.WhatwattSource)harness.Source).Meter;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await foreach (var change in ReadAllAsync(harness.StatusChanges, cts.Token))
        {
            if (change.Der == meter)
            {
                seen.Add(change.Status);
                if (seen.Contains(ConnectionStatus.Stale) && change.Status == ConnectionStatus.Connected)
                {
                    break;
                }
            }
        }

        // The reconnect keeps STALE until it succeeds: no CONNECTING in between.
        Assert.Equal([ConnectionStatus.Stale, ConnectionStatus.Connected], seen[seen.IndexOf(ConnectionStatus.Stale)..]);
    }

    [Fact]
    public async Task Every_fault_kind_is_counted_and_skipped_while_readings_keep_flowing()
    {
        await using var emulator = await EmulatorAsync(password: null, interval: 0.05, faults: [.. FaultKinds.All], faultEvery: 2);
        await using var harness = new SourceHarness(Options(emulator, password: null), new SourceTimingOptions
        {
            BackoffBase = TimeSpan.FromMilliseconds(10),
            BackoffCap = TimeSpan.FromMilliseconds(50),
            MaxEventBytes = 64 * 1024,
        });
        using var sub = harness.Hub.Subscribe(SubjectPattern.All);

        // Run through every stream fault at least twice (six stream kinds, one every second event).
        await Eventually.TryUntilAsync(() => emulator.Faults.Injected >= 14, TimeSpan.FromSeconds(30));

        var readings = await harness.ReadingsAsync(5, from: sub);

        Assert.True(emulator.Faults.Injected >= 14, $"only {emulator.Faults.Injected} faults injected");
        Assert.Equal(5, readings.Count);
        var state = harness.Source.State;
        // malformed JSON, a huge line, bad numbers and an unknown event are each rejected; cut streams and HTTP 500/503 reconnect.
        Assert.True(state.Rejected >= 6, $"rejected {state.Rejected}");
        Assert.True(state.Reconnects >= 3, $"reconnects {state.Reconnects}");
        Assert.True(state.Events > state.Rejected);
    }

    private static async IAsyncEnumerable<DerStatus> ReadAllAsync(DropOldestQueue<DerStatus> subscription, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await subscription.WaitToReadAsync(cancellationToken))
        {
            while (subscription.TryRead(out var s))
            {
                yield return s;
            }
        }
    }

    [Fact]
    public async Task A_device_that_offers_only_basic_gets_no_password_unless_basic_is_allowed()
    {
        await using var emulator = await EmulatorAsync(auth: DeviceAuth.Basic);
        await using var harness = new SourceHarness(Options(emulator), new SourceTimingOptions { AuthFailedRetry = TimeSpan.FromSeconds(30) });

        await harness.WaitForStatusAsync(ConnectionStatus.AuthFailed);

        Assert.Contains("Basic", harness.Source.State.LastError, StringComparison.Ordinal);
        Assert.Contains("AuthScheme", harness.Source.State.LastError, StringComparison.Ordinal);
        Assert.Equal(0, emulator.Verifier.CredentialsSeen); // the password was not sent at all
    }

    [Fact]
    public async Task Auto_keeps_to_digest_and_refuses_a_later_downgrade_to_basic()
    {
        var handler = new Http.DeviceAuthClientHandler("secret", scheme: Http.AuthScheme.Auto);
        await using (var digestDevice = await EmulatorAsync(auth: DeviceAuth.Digest))
        {
            handler.InnerHandler = new SocketsHttpHandler();
            using var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = digestDevice.BaseAddress };
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/api/v1/report")).StatusCode);
        }

        // The same handler now meets a device at a new address that offers only Basic: it must not answer.
        await using var basicDevice = await EmulatorAsync(auth: DeviceAuth.Basic);
        using var downgraded = new HttpClient(handler) { BaseAddress = basicDevice.BaseAddress };
        var response = await downgraded.GetAsync("/api/v1/report");

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("downgrade", handler.Refusal, StringComparison.Ordinal);
        Assert.Equal(1, basicDevice.Verifier.CredentialsSeen); // only the up-front Digest answer, never a Basic one
    }
}
