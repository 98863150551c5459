using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Wattstream.Server.Tests;

/// <summary>The simulator's prepaid meter and the HES seed's <c>"Remaining Credit Amount": "250.00"</c>.</summary>
public class PrepaidMeterTests
{
    private const string PrepaidMeter = "62124022443"; // site 3's meter, the HES seed's sample meter
    private const string CreditLabel = "Remaining Credit Amount";

    [Theory]
    [InlineData("/api/sse/meters")]
    [InlineData("/hes/service/stream")]
    public async Task The_prepaid_meter_has_a_credit_with_two_decimals_and_the_others_none(string path)
    {
        await using var host = await WattstreamHost.StartAsync();

        var items = await SseClient.ReadAsync(host.Client, path, 9, TimeSpan.FromSeconds(15));

        var data = items.Select(i => JsonNode.Parse(i.Data)!).ToArray();
        var prepaid = data.Where(d => (string?)d["meterNo"] == PrepaidMeter).ToArray();
        Assert.NotEmpty(prepaid);
        Assert.All(prepaid, d => Assert.Matches(@"^\d+\.\d\d$", (string)d[CreditLabel]!));
        var others = data.Where(d => (string?)d["meterNo"] != PrepaidMeter).ToArray();
        Assert.Equal(2, others.Select(d => (string?)d["meterNo"]).Distinct().Count());
        Assert.All(others, d => Assert.Null(d[CreditLabel]));
    }

    /// <summary>An open SSE stream whose events a background reader hands over; the stream is open when this returns.</summary>
    private sealed class OpenStream : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(60));
        private readonly Channel<JsonNode> _events = Channel.CreateUnbounded<JsonNode>();
        private HttpResponseMessage _response = null!;
        private Task _reader = Task.CompletedTask;

        public static async Task<OpenStream> OpenAsync(HttpClient client, string path)
        {
            var stream = new OpenStream();
            stream._response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, stream._cts.Token);
            stream._response.EnsureSuccessStatusCode();
            var body = await stream._response.Content.ReadAsStreamAsync(stream._cts.Token);
            stream._reader = Task.Run(async () =>
            {
                await foreach (var item in SseParser.Create(body).EnumerateAsync(stream._cts.Token))
                {
                    await stream._events.Writer.WriteAsync(JsonNode.Parse(item.Data)!, stream._cts.Token);
                }
            });
            return stream;
        }

        /// <summary>The next event within <paramref name="timeout"/>, or null.</summary>
        public async Task<JsonNode?> NextAsync(TimeSpan timeout)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
            wait.CancelAfter(timeout);
            try
            {
                return await _events.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!_cts.IsCancellationRequested)
            {
                return null;
            }
        }

        /// <summary>Moves <paramref name="clock"/> by <paramref name="step"/> until the next event comes (the simulator's timer may not be set yet).</summary>
        public async Task<JsonNode> NextStepAsync(FakeTimeProvider clock, TimeSpan step)
        {
            for (var i = 0; i < 20; i++)
            {
                clock.Advance(step);
                if (await NextAsync(TimeSpan.FromSeconds(2)) is { } e)
                {
                    return e;
                }
            }

            throw new TimeoutException("no reading after 20 steps of the clock");
        }

        public async ValueTask DisposeAsync()
        {
            await _cts.CancelAsync();
            await _reader.ContinueWith(_ => { }, TaskScheduler.Default);
            _response.Dispose();
            _cts.Dispose();
        }
    }

    [Fact]
    public async Task The_credit_starts_at_the_top_up_amount_as_in_the_seed()
    {
        // The host runs on a clock the test moves: the meter has imported for two seconds when the client reads it.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 14, 20, 0, 0, TimeSpan.Zero));
        await using var host = await WattstreamHost.StartAsync(builder => builder.Services.AddSingleton<TimeProvider>(clock), "--Simulation:Interval=00:00:01");
        await using var stream = await OpenStream.OpenAsync(host.Client, $"/api/sse/real-time-data/{PrepaidMeter}");

        var data = await stream.NextStepAsync(clock, TimeSpan.FromSeconds(1));

        Assert.Equal(PrepaidMeter, (string?)data["meterNo"]);
        Assert.Equal("250.00", (string?)data[CreditLabel]);
    }

    [Fact]
    public async Task The_credit_falls_with_imported_energy_at_the_sites_tariff_and_is_topped_up()
    {
        // The host runs on a clock the test moves ten minutes per step, from a winter evening; import costs 100 per kWh
        // (the site's configured tariff), and a credit below 240 is topped up to 250.
        const double price = 100;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 14, 17, 0, 0, TimeSpan.Zero));
        await using var host = await WattstreamHost.StartAsync(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            "--Simulation:Interval=00:10:00", "--Simulation:TimeZone=Europe/Zurich", "--Simulation:PrepaidTopUp=250", "--Simulation:PrepaidThreshold=240",
            "--Sites:site-3:Tariff:Currency=CHF", $"--Sites:site-3:Tariff:Import={price}");
        await using var stream = await OpenStream.OpenAsync(host.Client, $"/api/sse/real-time-data/{PrepaidMeter}");
        static (double Credit, double ImportKwh) Parse(JsonNode data)
        {
            var credit = (string)data[CreditLabel]!;
            Assert.Matches(@"^\d+\.\d\d$", credit);
            var import = ((string)data["Active energy import (+A)"]!).Split(' ')[0];
            return (double.Parse(credit, CultureInfo.InvariantCulture), double.Parse(import, CultureInfo.InvariantCulture));
        }

        var seen = new List<(double Credit, double ImportKwh)>();
        var falls = 0;
        var topUps = 0;
        for (var step = 0; step < 300 && (falls < 3 || topUps < 1); step++)
        {
            seen.Add(Parse(await stream.NextStepAsync(clock, TimeSpan.FromMinutes(10))));
            if (seen.Count < 2)
            {
                continue;
            }

            var (before, now) = (seen[^2], seen[^1]);
            Assert.True(now.ImportKwh >= before.ImportKwh);
            if (now.Credit > before.Credit)
            {
                Assert.Equal(250, now.Credit); // a rise is a top-up, to the set amount
                topUps++;
            }
            else if (now.Credit < before.Credit)
            {
                // What was spent is the import at the tariff's price (the register is shown to the Wh, the credit to the cent).
                Assert.InRange(before.Credit - now.Credit, ((now.ImportKwh - before.ImportKwh) * price) - 0.12, ((now.ImportKwh - before.ImportKwh) * price) + 0.12);
                falls++;
            }
        }

        Assert.True(falls >= 3, $"{falls} falls in {seen.Count} readings");
        Assert.True(topUps >= 1, $"{topUps} top-ups in {seen.Count} readings");
        Assert.All(seen, s => Assert.InRange(s.Credit, 240, 250));
    }

    private static async Task PushAsync(WattstreamHost host, string body)
    {
        using var push = await host.Client.PostAsync("/api/readings", new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
    }

    [Fact]
    public async Task A_pushed_meter_reading_with_a_credit_shows_it_on_hes_and_one_without_shows_none()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var body = $$"""
            {"org":"acme","site":"flat","device":"m","der":"77700000001","type":"meter","timestamp":{{now}},"W":420,"Hz":50,"remaining_credit":12.5}
            {"org":"acme","site":"flat","device":"m","der":"77700000002","type":"meter","timestamp":{{now}},"W":420,"Hz":50}
            """;

        await using (var hes = await OpenStream.OpenAsync(host.Client, "/api/sse/meters"))
        {
            await PushAsync(host, body);

            var first = (await hes.NextAsync(TimeSpan.FromSeconds(15)))!;
            var second = (await hes.NextAsync(TimeSpan.FromSeconds(15)))!;
            var byMeter = new[] { first, second }.ToDictionary(d => (string)d["meterNo"]!);
            Assert.Equal("12.50", (string?)byMeter["77700000001"][CreditLabel]);
            Assert.Null(byMeter["77700000002"][CreditLabel]);
        }

        // Novacore readings carry it too, as remaining_credit.
        await using var novacore = await OpenStream.OpenAsync(host.Client, "/stream/sites/flat");
        await PushAsync(host, $$"""{"org":"acme","site":"flat","device":"m","der":"77700000001","type":"meter","timestamp":{{now + 1000}},"W":400,"remaining_credit":12.25}""");
        Assert.Equal(12.25, (double?)(await novacore.NextAsync(TimeSpan.FromSeconds(15)))!["remaining_credit"]);
    }
}
