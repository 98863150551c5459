using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>
/// The dashboard and the site listing on a hub with more sites than one listing page (1 000) holds: a deep link to any
/// site opens it, the fleet reaches the last site, and finding one site by id keeps to the caller's orgs.
/// </summary>
public class DashboardManySitesTests
{
    private const int SiteCount = 1500;

    private static string SiteId(int i) => $"s-{i.ToString("D4", CultureInfo.InvariantCulture)}";

    /// <summary>One meter reading for each of <paramref name="count"/> sites of <paramref name="org"/>, in one NDJSON push.</summary>
    private static async Task PushSitesAsync(HttpClient client, string org, int count, string? token = null)
    {
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var body = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            body.Append(CultureInfo.InvariantCulture, $$"""{"org":"{{org}}","site":"{{SiteId(i)}}","device":"meter","der":"{{org}}-m-{{i}}","type":"meter","timestamp":{{t}},"W":{{100 + i}}}""").Append('\n');
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/readings") { Content = new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal(count, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["accepted"]!.AsArray().Count);
    }

    [Fact]
    public async Task With_1500_sites_a_deep_link_past_the_first_page_opens_the_site_and_the_fleet_pages_to_the_last_site()
    {
        await using var host = await WattstreamHost.StartAsync("--Simulation:Enabled=false");
        await PushSitesAsync(host.Client, "many", SiteCount);
        var deep = SiteId(1234);
        var last = SiteId(SiteCount - 1);

        // The deep-linked site is not on the listing's first page, so a dashboard that reads only that page cannot find it.
        using var first = await host.Client.GetAsync("/api/sites");
        var firstPage = JsonNode.Parse(await first.Content.ReadAsStringAsync())!.AsArray();
        Assert.Equal(1000, firstPage.Count);
        Assert.Equal(SiteCount.ToString(CultureInfo.InvariantCulture), first.Headers.GetValues("X-Total-Count").Single());
        Assert.DoesNotContain(firstPage, s => (string?)s!["site"] == deep);
        Assert.DoesNotContain(firstPage, s => (string?)s!["site"] == last);

        var (exit, output) = await BrowserTests.RunNodeAsync("many-sites.mjs", host.BaseAddress.ToString(), deep, last, SiteCount.ToString(CultureInfo.InvariantCulture));

        Assert.True(exit == 0, output);
        var r = JsonNode.Parse(output.Split('\n').Last(l => l.StartsWith('{')))!;
        Assert.Empty(r["pageErrors"]!.AsArray());
        var link = r["deepLink"]!;
        Assert.Equal("site", (string?)link["view"]);
        Assert.Equal($"#/sites/{deep}", (string?)link["hash"]);
        Assert.Equal(deep, (string?)link["picked"]);
        Assert.Equal($"{deep} — Wattstream", (string?)link["title"]);
        Assert.Equal("#many-m-1234", (string?)link["meter"]);

        Assert.Equal($"{SiteCount} of {SiteCount} sites", (string?)r["fleetCount"]);
        Assert.Equal(100, (int)r["firstPageRows"]!); // a page of rows, not 1 500
        Assert.Equal(14, (int)r["pageClicks"]!);
        Assert.Equal("1401–1500 of 1500", (string?)r["lastPageText"]);
        var lastPage = r["lastPageSites"]!.AsArray().Select(s => (string)s!).ToArray();
        Assert.Equal(Enumerable.Range(1400, 100).Select(SiteId), lastPage);
        Assert.Equal("1301–1400 of 1500", (string?)r["afterPrevText"]);
        Assert.Equal([last], r["filtered"]!.AsArray().Select(s => (string)s!));
        Assert.Equal($"#/sites/{last}", (string?)r["openedFromFleet"]!["hash"]);
        Assert.Equal(last, (string?)r["openedFromFleet"]!["picked"]);
        Assert.Equal(SiteCount, (int)r["pickerOptions"]!); // the picker holds every site once
    }

    [Fact]
    public async Task The_listing_finds_one_site_by_id_only_among_the_callers_orgs_and_its_page_links_keep_the_filter()
    {
        await using var host = await AuthTests.StartTokenHostAsync();
        await PushSitesAsync(host.Client, "other", 3, AuthTests.Token(orgs: "other", scopes: "read publish"));
        var demo = AuthTests.Token(orgs: "demo");

        async Task<(HttpStatusCode Status, HttpResponseHeaders Headers, JsonNode Body)> GetAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", demo);
            using var response = await host.Client.SendAsync(request);
            return (response.StatusCode, response.Headers, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
        }

        var (own, _, ownBody) = await GetAsync("/api/sites?site=site-2");
        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Equal(["demo/site-2"], ownBody.AsArray().Select(s => $"{s!["org"]}/{s["site"]}"));

        // Another org's site, by its id or by its org, is not there for this caller: an empty list, as for no such site.
        var (foreign, _, foreignBody) = await GetAsync($"/api/sites?site={SiteId(1)}");
        Assert.Equal(HttpStatusCode.OK, foreign);
        Assert.Empty(foreignBody.AsArray());
        var (byOrg, _, byOrgBody) = await GetAsync($"/api/sites?org=other&site={SiteId(1)}");
        Assert.Equal(HttpStatusCode.OK, byOrg);
        Assert.Empty(byOrgBody.AsArray());

        // Following the next link pages the filtered set, not the whole listing.
        var (_, paged, pagedBody) = await GetAsync("/api/sites?org=demo&limit=1");
        Assert.Single(pagedBody.AsArray());
        Assert.Equal("3", paged.GetValues("X-Total-Count").Single());
        Assert.Equal("</api/sites?org=demo&limit=1&offset=1>; rel=\"next\"", paged.GetValues("Link").Single());

        var (bad, _, badBody) = await GetAsync("/api/sites?site=a.b");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("invalid_id", (string?)badBody["error"]);
        Assert.NotNull(badBody["message"]);
    }
}
