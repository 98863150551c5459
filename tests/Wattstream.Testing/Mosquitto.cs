using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wattstream.Testing;

/// <summary>
/// A real mosquitto broker of the test's own (Debian's, installed by scripts/test.sh): its configuration, password file
/// and persistence in a temporary folder, a plain listener on a free loopback port, optionally a TLS listener whose
/// certificate a test CA signed; stopped by its own pid. Mosquitto cannot bind port 0 and say which port it got, so a
/// start whose port was taken meanwhile is retried on another.
/// </summary>
public sealed class Mosquitto : IAsyncDisposable
{
    private const string Binary = "/usr/sbin/mosquitto";
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private Process? _process;

    private Mosquitto(string folder, string? username, string? password, bool tls)
    {
        Folder = folder;
        Username = username;
        Password = password;
        Tls = tls;
    }

    /// <summary>This broker's folder (configuration, password file, certificates, persistence), removed at the end.</summary>
    public string Folder { get; }

    public string? Username { get; }

    public string? Password { get; }

    private bool Tls { get; }

    /// <summary>The plain listener's port (kept across restarts).</summary>
    public int Port { get; private set; }

    /// <summary>The TLS listener's port, when started with TLS.</summary>
    public int? TlsPort { get; private set; }

    /// <summary>The test CA's certificate (PEM) that signed the TLS listener's certificate, when started with TLS.</summary>
    public string? CaFile { get; private set; }

    public string Url => $"mqtt://127.0.0.1:{Port}";

    public string TlsUrl => TlsPort is { } port ? $"mqtts://127.0.0.1:{port}" : throw new InvalidOperationException("started without TLS");

    /// <summary>The broker's last lines of output, for a failing test's message.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>
    /// Starts a broker. With <paramref name="username"/> and <paramref name="password"/> it admits only that user
    /// (a password file made by <c>mosquitto_passwd</c>); with <paramref name="tls"/> it also listens with TLS.
    /// Retained messages are persisted, so they outlive <see cref="RestartAsync"/> as on a real broker.
    /// </summary>
    public static async Task<Mosquitto> StartAsync(string? username = null, string? password = null, bool tls = false)
    {
        var folder = Directory.CreateTempSubdirectory("wattstream-mosquitto-").FullName;
        var broker = new Mosquitto(folder, username, password, tls);
        try
        {
            if (username is not null)
            {
                await RunAsync("/usr/bin/mosquitto_passwd", "-b", "-c", Path.Combine(folder, "passwords"), username, password ?? "");
            }

            if (tls)
            {
                broker.WriteCertificates();
            }

            for (var attempt = 1; ; attempt++)
            {
                broker.Port = LoopbackPort.Free();
                broker.TlsPort = tls ? LoopbackPort.Free() : null;
                await broker.WriteConfigurationAsync();
                try
                {
                    await broker.StartProcessAsync();
                    return broker;
                }
                catch (InvalidOperationException) when (attempt < 5 && LoopbackPort.IsAddressInUse(broker.Output))
                {
                    broker._output.Clear();
                }
            }
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the broker as a service manager does (SIGTERM: it writes its persistence file) and starts it again on the same ports.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    /// <summary>Stops the broker (SIGTERM, then SIGKILL if it does not exit).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            if (!process.WaitForExit(10_000))
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task WriteConfigurationAsync()
    {
        var lines = new List<string>
        {
            // Started as root, mosquitto would switch to the user "mosquitto", who cannot read this folder.
            $"user {Environment.UserName}",
            "per_listener_settings false",
            "persistence true",
            $"persistence_location {Folder}/",
            "log_dest stderr", // unbuffered: the readiness check reads "listen socket on port N" as it is written
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            Username is null ? "allow_anonymous true" : "allow_anonymous false",
        };
        if (Username is not null)
        {
            lines.Add($"password_file {Path.Combine(Folder, "passwords")}");
        }

        lines.Add($"listener {Port} 127.0.0.1");
        if (TlsPort is { } tlsPort)
        {
            lines.Add($"listener {tlsPort} 127.0.0.1");
            lines.Add($"cafile {CaFile}");
            lines.Add($"certfile {Path.Combine(Folder, "server.pem")}");
            lines.Add($"keyfile {Path.Combine(Folder, "server.key")}");
        }

        await File.WriteAllLinesAsync(Path.Combine(Folder, "mosquitto.conf"), lines);
    }

    // A CA of the test's own and a server certificate for 127.0.0.1 that it signed, as PEM files mosquitto reads.
    private void WriteCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Wattstream test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(16));

        CaFile = Path.Combine(Folder, "ca.pem");
        File.WriteAllText(CaFile, ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(Folder, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(Folder, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Path.Combine(Folder, "mosquitto.conf"));
        var process = Process.Start(start) ?? throw new InvalidOperationException("mosquitto did not start");
        _process = process;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Ready when this process still runs and its ports accept (a port could be another process's: the process must
        // also have said it opened it).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {process.ExitCode}: {Output}");
            }

            if (Output.Contains($"listen socket on port {Port}", StringComparison.Ordinal)
                && (TlsPort is not { } tlsPort || Output.Contains($"listen socket on port {tlsPort}", StringComparison.Ordinal))
                && await AcceptsAsync(Port) && (TlsPort is not { } tls || await AcceptsAsync(tls)))
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new InvalidOperationException($"mosquitto did not open its ports within 15 s: {Output}");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            return false;
        }
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited with {process.ExitCode}: {await error}");
        }
    }
}
