using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Wattstream.Emulators.DerSim;
using Wattstream.Emulators.Faults;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests;

public class DerSimAndSseSourceTests
{
    [Fact]
    public async Task The_dersim_source_reads_one_device_with_the_filter()
    {
        await using var emulator = DerSimEmulator.Create(new DerSimEmulatorOptions { Port = 0, Devices = 3, Tick = TimeSpan.FromMilliseconds(100), Seed = 2 }, _ => { });
        await emulator.StartAsync();
        await using var harness = new SourceHarness(new SourceOptions
        {
            Id = "sim",
            Kind = SourceKind.DerSim,
            Url = emulator.BaseAddress,
            Org = "lab",
            Site = "bench",
            Der = "der",
            DeviceIndex = 1,
        });

        var readings = await harness.ReadingsAsync(4);

        Assert.All(readings, e => Assert.Equal("orgs.lab.sites.bench.devices.sim.ders.der-1.telemetry.json.v1", e.Subject));
        Assert.All(readings, e => Assert.Contains(e.Reading.Type, new[] { DerType.Pv, DerType.Battery, DerType.V2xCharger }));
        Assert.Equal(ConnectionStatus.Connected, harness.Source.State.Status);
    }

    [Fact]
    public async Task The_dersim_source_skips_bad_payloads_and_goes_on()
    {
        await using var emulator = DerSimEmulator.Create(new DerSimEmulatorOptions
        {
            Port = 0,
            Devices = 2,
            Tick = TimeSpan.FromMilliseconds(50),
            Faults = [FaultKind.MalformedJson, FaultKind.HugeLine, FaultKind.BadNumbers, FaultKind.UnknownEvent],
            FaultEvery = 2,
            Seed = 2,
        }, _ => { });
        await emulator.StartAsync();
        await using var harness = new SourceHarness(new SourceOptions { Id = "sim", Kind = SourceKind.DerSim, Url = emulator.BaseAddress, Der = "d" }, new SourceTimingOptions
        {
            BackoffBase = TimeSpan.FromMilliseconds(10),
            BackoffCap = TimeSpan.FromMilliseconds(50),
            MaxEventBytes = 64 * 1024,
        });

        var readings = await harness.ReadingsAsync(10);
        await Eventually.UntilAsync(() => emulator.Faults.Injected >= 8, "eight faults injected");
        await Eventually.TryUntilAsync(() => harness.Source.State.Rejected >= 6, TimeSpan.FromSeconds(10));
        Assert.Equal(10, readings.Count);
        Assert.True(harness.Source.State.Rejected >= 6, $"rejected {harness.Source.State.Rejected}");
    }

    /// <summary>A stream of Novacore readings behind a Bearer token: a real Kestrel server on loopback.</summary>
    private static async Task<WebApplication> StartReadingStreamAsync(string token)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/stream/sites/home", async (HttpContext context) =>
        {
            if (context.Request.Headers.Authorization != $"Bearer {token}")
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsJsonAsync(new { error = "unauthorized", message = "bad token" });
                return;
            }

            context.Response.ContentType = "text/event-stream";
            for (var i = 1; !context.RequestAborted.IsCancellationRequested; i++)
            {
                var t = 1_763_900_000_000 + (i * 1000);
                await context.Response.WriteAsync($"id: {i}\ndata: {{\"type\":\"pv\",\"timestamp\":{t},\"read_time_ms\":40,\"W\":-{i * 100}}}\n\n");
                await context.Response.WriteAsync($"id: {i}b\ndata: {{\"type\":\"battery\",\"timestamp\":{t},\"W\":{i * 10},\"SoC_nom_fract\":0.5}}\n\n");
                await context.Response.WriteAsync("data: {\"type\":\"pv\",\"W\":\"oops\"}\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(50);
            }
        });
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task The_sse_source_reads_readings_with_a_bearer_token()
    {
        await using var server = await StartReadingStreamAsync("t0ken");
        await using var harness = new SourceHarness(new SourceOptions
        {
            Id = "cloud",
            Kind = SourceKind.Sse,
            Url = new Uri(new Uri(server.Urls.Single()), "/stream/sites/home"),
            Token = "t0ken",
            Org = "o",
            Site = "home",
            Der = "nc",
        });

        var readings = await harness.ReadingsAsync(6);

        Assert.Equal(["orgs.o.sites.home.devices.cloud.ders.nc-battery.telemetry.json.v1", "orgs.o.sites.home.devices.cloud.ders.nc-pv.telemetry.json.v1"],
            readings.Select(r => r.Subject).Distinct().Order());
        Assert.True(harness.Source.State.Rejected >= 1); // the reading with W "oops"
        Assert.Equal(ConnectionStatus.Connected, harness.Source.State.Status);
    }

    [Fact]
    public async Task A_wrong_token_is_auth_failed()
    {
        await using var server = await StartReadingStreamAsync("t0ken");
        await using var harness = new SourceHarness(new SourceOptions
        {
            Id = "cloud",
            Kind = SourceKind.Sse,
            Url = new Uri(new Uri(server.Urls.Single()), "/stream/sites/home"),
            Token = "wrong",
        });

        await harness.WaitForStatusAsync(ConnectionStatus.AuthFailed);

        Assert.Equal("the token was refused", harness.Source.State.LastError);
        Assert.Equal(0, harness.Source.State.Events);
    }

    [Fact]
    public void Credentials_in_a_url_are_refused()
    {
        var context = new SourceContext(new Hub.TelemetryHub(), new StatusBoard(TimeSpan.FromMinutes(1)), new SourceTimingOptions(), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, null!);

        var e = Assert.Throws<ArgumentException>(() => SourceHost.Create(new SourceOptions { Id = "x", Kind = SourceKind.Whatwatt, Url = new Uri("http://:secret@127.0.0.1:1/") }, context));

        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
    }
}
