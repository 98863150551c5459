using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Wattstream.Nats;

/// <summary>Connections with the credentials of the hub's settings (user/password, token, NKey seed file or .creds file).</summary>
public static class NatsConnections
{
    /// <summary>The URLs for logs and status: scheme, host and port only.</summary>
    public static string SafeUrl(string urls) => string.Join(",", urls.Split(',').Select(u =>
        Uri.TryCreate(u.Trim(), UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}" : "(malformed)"));

    public static NatsConnection Create(string url, string name, NatsCredentials credentials, ILoggerFactory loggers, bool retryOnInitialConnect = true)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        if (url.Split(',').Any(u => !Uri.TryCreate(u.Trim(), UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0))
        {
            throw new ArgumentException("Nats: every URL must be a nats:// address without credentials (put them in User/Password, Token, CredsFile or NKeySeedFile: URLs are logged).");
        }

        string? seed = null;
        string? nkey = null;
        if (credentials.NKeySeedFile is { } seedFile)
        {
            // The seed alone is enough (its public key follows from it), or the two lines `nk -gen user -pubout` writes.
            seed = File.ReadLines(seedFile).Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("SU", StringComparison.Ordinal))
                ?? throw new ArgumentException($"Nats: '{seedFile}' holds no user NKey seed (a line starting with SU).");
            using var pair = NATS.NKeys.KeyPair.FromSeed(seed.AsSpan());
            nkey = pair.GetPublicKey();
        }

        return new NatsConnection(new NatsOpts
        {
            Url = url,
            Name = name,
            LoggerFactory = loggers,
            RetryOnInitialConnect = retryOnInitialConnect,
            AuthOpts = new NatsAuthOpts
            {
                Username = credentials.User,
                Password = credentials.Password,
                Token = credentials.Token,
                CredsFile = credentials.CredsFile,
                Seed = seed,
                NKey = nkey,
            },
        });
    }
}

/// <summary>How to authenticate to NATS; none of it is ever logged.</summary>
public sealed record NatsCredentials(string? User, string? Password, string? Token, string? CredsFile, string? NKeySeedFile)
{
    public override string ToString() => "NatsCredentials { … }";
}
