using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>
/// Every CSV export opens safely in a spreadsheet: a text cell that would start a formula (=, +, -, @, tab, carriage
/// return) gets a single quote in front, cells are quoted as RFC 4180 needs, and numbers stay numbers. Hostile text is
/// put wherever a caller controls it: alert messages and types (any text), ids of orgs, sites, devices, DERs and rules
/// (the id grammar allows a leading '-', nothing else of the formula characters).
/// </summary>
public class CsvSafetyTests
{
    private static readonly string[] HostileMessages =
    [
        "=cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "+HYPERLINK(\"http://127.0.0.1/x\",\"click\")",
        "-2+3+cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ];

    private const string QuotedMessage = "a \"quoted\", text\nover two lines";

    private static readonly DateTimeOffset Yesterday = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-1);

    private static long At(int hour, int minute) => Yesterday.AddHours(hour).AddMinutes(minute).ToUnixTimeMilliseconds();

    // Org "csv", site "-site": a meter "-m1" and a PV "-pv1" on devices "-gw" and "-inv". Hour 10 imports nothing, exports
    // 1 kWh at 0.08 and makes 3 kWh of PV: its net is -0.08, a negative number in a numeric column.
    private static readonly string[] Readings =
    [
        .. new[] { (At(9, 59), 10_000, 5_000, 100_000), (At(10, 30), 10_000, 6_000, 103_000) }.SelectMany(r => new[]
        {
            $$"""{"org":"csv","site":"-site","device":"-gw","der":"-m1","type":"meter","timestamp":{{r.Item1}},"W":-2500,"total_import_Wh":{{r.Item2}},"total_export_Wh":{{r.Item3}}}""",
            $$"""{"org":"csv","site":"-site","device":"-inv","der":"-pv1","type":"pv","timestamp":{{r.Item1}},"W":-3000,"total_generation_Wh":{{r.Item4}}}""",
        }),
    ];

    private static Task<WattstreamHost> StartAsync() => WattstreamHost.StartAsync(
        "--Simulation:Enabled=false",
        "--Sites:-site:TimeZone=Etc/UTC", "--Sites:-site:Tariff:Currency=EUR", "--Sites:-site:Tariff:Import=0.30", "--Sites:-site:Tariff:FeedIn=0.08",
        // A rule whose id starts with '-' and whose value and threshold are negative numbers.
        "--Alerts:Rules:0:Id=-neg", "--Alerts:Rules:0:Type=threshold", "--Alerts:Rules:0:Org=csv", "--Alerts:Rules:0:Site=-site",
        "--Alerts:Rules:0:Field=W", "--Alerts:Rules:0:Operator=<", "--Alerts:Rules:0:Threshold=-1000.5", "--Alerts:Rules:0:RepeatSeconds=0");

    private static async Task PushReadingsAsync(HttpClient client)
    {
        using var response = await client.PostAsync("/api/readings?durable=true", new StringContent(string.Join('\n', Readings), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>RFC 4180: quoted cells may hold commas, doubled quotes and line breaks.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                Assert.True(cell.Length == 0, "a quote only opens a cell");
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(cell.ToString());
                cell.Clear();
            }
            else if (c == '\n')
            {
                row.Add(cell.ToString());
                cell.Clear();
                rows.Add([.. row]);
                row.Clear();
            }
            else
            {
                Assert.True(c != '\r', "a carriage return outside quotes");
                cell.Append(c);
            }
        }

        Assert.False(quoted, "an unterminated quote");
        Assert.True(cell.Length == 0 && row.Count == 0, "the last row ends with a line break");
        return rows;
    }

    /// <summary>Every cell of a text column is safe: nothing a spreadsheet would start a formula with comes first.</summary>
    private static void AssertTextCellsSafe(List<string[]> rows, params string[] numericColumns)
    {
        var header = rows[0];
        foreach (var row in rows.Skip(1))
        {
            Assert.Equal(header.Length, row.Length);
            for (var i = 0; i < row.Length; i++)
            {
                if (numericColumns.Contains(header[i]))
                {
                    Assert.True(row[i].Length == 0 || double.TryParse(row[i], NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"{header[i]} '{row[i]}' is a number");
                }
                else
                {
                    Assert.False(row[i].Length > 0 && row[i][0] is '=' or '+' or '-' or '@' or '\t' or '\r', $"{header[i]} '{row[i]}' would start a formula");
                }
            }
        }
    }

    private static string Cell(List<string[]> rows, string[] row, string column) => row[Array.IndexOf(rows[0], column)];

    [Fact]
    public async Task Alert_csv_prefixes_hostile_messages_types_and_ids_and_keeps_negative_values_numbers()
    {
        await using var host = await StartAsync();
        await PushReadingsAsync(host.Client);
        foreach (var message in HostileMessages.Append(QuotedMessage))
        {
            using var posted = await host.Client.PostAsync("/api/alerts", new StringContent(
                JsonSerializer.Serialize(new { type = "-type", message, org = "csv", site = "-site", der = "-m1" }), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        }

        // The rule's alert is judged off the hot path: wait for it (bounded).
        List<string[]> rows = [];
        for (var attempt = 0; attempt < 50; attempt++)
        {
            rows = ParseCsv(await host.Client.GetStringAsync("/api/alerts?format=csv&limit=1000"));
            if (rows.Skip(1).Any(r => Cell(rows, r, "rule") == "'-neg" && Cell(rows, r, "der") == "'-pv1"))
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(["id", "timestamp", "rule", "type", "state", "org", "site", "device", "der", "value", "threshold", "message"], rows[0]);
        AssertTextCellsSafe(rows, "id", "value", "threshold");
        foreach (var message in HostileMessages)
        {
            var row = Assert.Single(rows.Skip(1), r => Cell(rows, r, "message") == "'" + message);
            Assert.Equal("'-type", Cell(rows, row, "type"));
            Assert.Equal("'-site", Cell(rows, row, "site"));
            Assert.Equal("'-gw", Cell(rows, row, "device"));
            Assert.Equal("'-m1", Cell(rows, row, "der"));
        }

        Assert.Single(rows.Skip(1), r => Cell(rows, r, "message") == QuotedMessage); // quoted, not prefixed

        var ruled = rows.Skip(1).First(r => Cell(rows, r, "rule") == "'-neg" && Cell(rows, r, "der") == "'-pv1");
        Assert.Equal("-3000", Cell(rows, ruled, "value"));
        Assert.Equal("-1000.5", Cell(rows, ruled, "threshold"));
        Assert.True(long.TryParse(Cell(rows, ruled, "id"), NumberStyles.None, CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task History_csv_prefixes_ids_that_start_with_a_minus_and_keeps_negative_watts_numbers()
    {
        await using var host = await StartAsync();
        await PushReadingsAsync(host.Client);
        var from = Uri.EscapeDataString(Yesterday.AddHours(9).ToString("O"));
        var to = Uri.EscapeDataString(Yesterday.AddHours(11).ToString("O"));

        var rows = ParseCsv(await host.Client.GetStringAsync($"/api/history?site=-site&from={from}&to={to}&step=1h&fields=w,import_wh&format=csv"));

        Assert.Equal(["time", "subject", "der", "w", "import_wh"], rows[0]);
        AssertTextCellsSafe(rows, "w", "import_wh");
        var pv = rows.Skip(1).Where(r => Cell(rows, r, "der") == "'-pv1").ToArray();
        Assert.Equal(2, pv.Length);
        Assert.All(pv, r => Assert.Equal("-3000", Cell(rows, r, "w")));
        Assert.All(pv, r => Assert.Equal("orgs.csv.sites.-site.devices.-inv.ders.-pv1.telemetry.json.v1", Cell(rows, r, "subject")));
        Assert.Equal(2, rows.Skip(1).Count(r => Cell(rows, r, "der") == "'-m1" && Cell(rows, r, "w") == "-2500"));
    }

    [Fact]
    public async Task Energy_csv_keeps_a_negative_net_a_number_and_has_no_cell_that_starts_a_formula()
    {
        // Energy's text cells are times, true/false, the tariff's currency (three capital letters) and the hub's own
        // notes: no caller's text reaches them. The check is that the one writer leaves numbers as numbers.
        await using var host = await StartAsync();
        await PushReadingsAsync(host.Client);
        var from = Uri.EscapeDataString(Yesterday.AddHours(10).ToString("O"));
        var to = Uri.EscapeDataString(Yesterday.AddHours(11).ToString("O"));

        var rows = ParseCsv(await host.Client.GetStringAsync($"/api/energy?site=-site&period=hour&from={from}&to={to}&format=csv"));

        string[] numeric = ["grid_import_kwh", "grid_export_kwh", "pv_kwh", "battery_in_kwh", "battery_out_kwh", "ev_in_kwh", "ev_out_kwh", "home_kwh", "self_sufficiency", "self_consumption", "cost", "earnings", "net"];
        AssertTextCellsSafe(rows, numeric);
        var hour = Assert.Single(rows.Skip(1));
        Assert.Equal("-0.08", Cell(rows, hour, "net"));
        Assert.Equal("0", Cell(rows, hour, "cost"));
        Assert.Equal("1", Cell(rows, hour, "grid_export_kwh"));
        Assert.Equal("EUR", Cell(rows, hour, "currency"));
    }

    [Fact]
    public async Task The_dashboards_meter_export_prefixes_ids_that_start_with_a_minus_and_keeps_numbers()
    {
        await using var host = await StartAsync();
        await PushReadingsAsync(host.Client);
        var folder = Path.Combine(Path.GetTempPath(), $"wattstream-csv-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var (exit, output) = await BrowserTests.RunNodeAsync("csv-export.mjs", host.BaseAddress.ToString(), "-m1", folder);

            Assert.True(exit == 0, output);
            var result = JsonNode.Parse(output.Split('\n').Last(l => l.StartsWith('{')))!;
            Assert.Empty(result["pageErrors"]!.AsArray());
            var rows = ParseCsv((string)result["csv"]!);
            Assert.Equal(["meterNo", "site", "status", "lastSeen", "power_kW", "l1_V", "energy_in_kWh"], rows[0]);
            AssertTextCellsSafe(rows, "power_kW", "l1_V", "energy_in_kWh");
            var meter = Assert.Single(rows.Skip(1));
            Assert.Equal("'-m1", Cell(rows, meter, "meterNo"));
            Assert.Equal("'-site", Cell(rows, meter, "site"));
            Assert.Equal("-2.5", Cell(rows, meter, "power_kW"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
