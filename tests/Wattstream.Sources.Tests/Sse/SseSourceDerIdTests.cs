using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Wattstream.Sources;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Tests;

/// <summary>The <c>sse</c> source reading a stream whose readings carry <c>der_id</c> and <c>device_id</c> (a Wattstream hub's).</summary>
public class SseSourceDerIdTests
{
    private static async Task<WebApplication> StartStreamAsync(params string[] data)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/stream/sites/home", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            foreach (var d in data)
            {
                await context.Response.WriteAsync($"data: {d}\n\n");
            }

            await context.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        await app.StartAsync();
        return app;
    }

    private static SourceOptions Options(WebApplication server) => new()
    {
        Id = "cloud",
        Kind = SourceKind.Sse,
        Url = new Uri(new Uri(server.Urls.Single()), "/stream/sites/home"),
        Org = "o",
        Site = "home",
        Der = "nc",
    };

    [Fact]
    public async Task Two_batteries_in_the_same_millisecond_stay_two_ders()
    {
        await using var server = await StartStreamAsync(
            """{"type":"battery","timestamp":1763900000000,"W":100,"site_id":"far","device_id":"inv-1","der_id":"bat-1"}""",
            """{"type":"battery","timestamp":1763900000000,"W":-200,"site_id":"far","device_id":"inv-2","der_id":"bat-2"}""");
        await using var harness = new SourceHarness(Options(server));

        var readings = await harness.ReadingsAsync(2);

        // Each reading keeps its own DER and device; the source's org and site place them here.
        Assert.Equal(
            ["orgs.o.sites.home.devices.inv-1.ders.bat-1.telemetry.json.v1", "orgs.o.sites.home.devices.inv-2.ders.bat-2.telemetry.json.v1"],
            readings.Select(r => r.Subject).Order());
        Assert.Equal([-200.0, 100.0], readings.Select(r => r.Reading.Get(Quantity.ActivePower, Unit.Watt)!.Value).Order());
    }

    [Fact]
    public async Task A_reading_without_a_der_id_is_one_der_per_type_as_before_and_a_bad_der_id_is_rejected()
    {
        await using var server = await StartStreamAsync(
            """{"type":"battery","timestamp":1763900000000,"W":100,"der_id":"no.dots"}""",
            """{"type":"pv","timestamp":1763900000000,"W":-5}""",
            """{"type":"meter","timestamp":1763900000000,"W":7,"der_id":"m-1"}""");
        await using var harness = new SourceHarness(Options(server));

        var readings = await harness.ReadingsAsync(2);

        Assert.Equal(
            ["orgs.o.sites.home.devices.cloud.ders.m-1.telemetry.json.v1", "orgs.o.sites.home.devices.cloud.ders.nc-pv.telemetry.json.v1"],
            readings.Select(r => r.Subject).Order());
        Assert.Equal(1, harness.Source.State.Rejected);
    }
}
