using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Wattstream.Server.Tests;

/// <summary>HTTPS the usual Kestrel way (a certificate file and its key), with HTTP/2, checked with real Chromium.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wattstream-tls-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Over_https_a_browser_holds_ten_event_streams_to_one_origin_on_http2()
    {
        var (certificate, key, thumbprint) = WriteSelfSignedCertificate();
        await using var host = await WattstreamHost.StartAsync(
            "--urls", "https://127.0.0.1:0",
            $"--Kestrel:Certificates:Default:Path={certificate}",
            $"--Kestrel:Certificates:Default:KeyPath={key}");
        var address = new Uri(WattstreamApp.Addresses(host.App).Single());

        var (exitCode, output) = await BrowserTests.RunNodeAsync("http2-streams.mjs", address.ToString(), "/api/sse/meters", "10");

        Assert.Equal("https", address.Scheme);
        Assert.True(exitCode == 0, output);
        var result = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith('{')))!;
        Assert.Equal("h2", (string?)result["protocol"]);
        var received = result["received"]!.AsArray().Select(n => (int)n!).ToArray();
        Assert.Equal(10, received.Length);
        Assert.All(received, count => Assert.True(count > 0, string.Join(",", received))); // over HTTP/1.1 the last four would wait

        // A .NET client speaks HTTP/2 to it as well.
        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == thumbprint } }; // ours, pinned
        using var client = new HttpClient(handler) { BaseAddress = address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var health = await client.GetAsync("/healthz");
        Assert.Equal(HttpVersion.Version20, health.Version);
    }

    private (string Certificate, string Key, string Thumbprint) WriteSelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // server authentication
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(_folder, "hub.crt");
        var keyPath = Path.Combine(_folder, "hub.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath, certificate.GetCertHashString());
    }
}
