using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Wattstream.Telemetry.Tls;

/// <summary>
/// A CA of the operator's own (a PEM file: one certificate or a bundle) that a TLS server's certificate must chain to —
/// only to it — for a broker or device on a private network. The MQTT source and the MQTT publisher share it.
/// </summary>
public sealed class PrivateCa : IDisposable
{
    private readonly X509Certificate2Collection _certificates = [];

    private PrivateCa(string pemFile) => _certificates.ImportFromPemFile(pemFile);

    /// <summary>The CA in <paramref name="pemFile"/>; null without a file (the system's trust store decides then).</summary>
    public static PrivateCa? FromPemFile(string? pemFile) => string.IsNullOrEmpty(pemFile) ? null : new PrivateCa(pemFile);

    /// <summary>
    /// Whether the server's certificate chains to this CA and names the host (the only error allowed from the default
    /// check is the chain's, which this check replaces).
    /// </summary>
    public bool Trusts(X509Certificate certificate, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    }

    public void Dispose()
    {
        foreach (var certificate in _certificates)
        {
            certificate.Dispose();
        }
    }
}
