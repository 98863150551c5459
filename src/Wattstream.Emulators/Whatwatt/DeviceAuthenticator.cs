using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Wattstream.Emulators.Whatwatt;

/// <summary>
/// The device's side of HTTP authentication: Digest (MD5-sess, qop=auth, realm = host name, opaque, nonces that expire
/// and are then answered with <c>stale=true</c>) or Basic, both with an empty user name and the Web UI password.
/// </summary>
public sealed class DeviceAuthenticator(WhatwattEmulatorOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _nonces = new();
    private readonly string _opaque = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private long _failures;
    private long _staleAnswers;
    private long _credentialsSeen;

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Requests that carried credentials of any scheme (a client that refuses to answer a challenge sends none).</summary>
    public long CredentialsSeen => Interlocked.Read(ref _credentialsSeen);

    public long StaleAnswers => Interlocked.Read(ref _staleAnswers);

    /// <summary>Makes the device forget its nonces' age: every nonce issued so far is now expired.</summary>
    public void ExpireNonces()
    {
        foreach (var nonce in _nonces.Keys)
        {
            _nonces[nonce] = DateTimeOffset.MinValue;
        }
    }

    /// <summary>True when the request may proceed; otherwise the 401 challenge is already written to the response.</summary>
    public bool Authenticate(HttpContext context)
    {
        if (options.Password is null)
        {
            return true;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            Interlocked.Increment(ref _credentialsSeen);
        }

        var stale = false;
        if (options.Auth == DeviceAuth.Basic && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            if (CheckBasic(header[6..].Trim()))
            {
                return true;
            }
        }
        else if (options.Auth == DeviceAuth.Digest && header.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase))
        {
            switch (CheckDigest(Wattstream.Sources.Http.AuthParameters.Parse(header[7..]), context.Request.Method))
            {
                case DigestResult.Ok:
                    return true;
                case DigestResult.Stale:
                    stale = true;
                    Interlocked.Increment(ref _staleAnswers);
                    break;
            }
        }

        if (header.Length > 0 && !stale)
        {
            Interlocked.Increment(ref _failures);
        }

        Challenge(context, stale);
        return false;
    }

    private void Challenge(HttpContext context, bool stale)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        if (options.Auth == DeviceAuth.Basic)
        {
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{options.HostName}\"";
            return;
        }

        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        _nonces[nonce] = time.GetUtcNow();
        context.Response.Headers.WWWAuthenticate =
            $"Digest realm=\"{options.HostName}\", qop=\"auth\", algorithm=MD5-sess, nonce=\"{nonce}\", opaque=\"{_opaque}\"{(stale ? ", stale=true" : "")}";
    }

    private bool CheckBasic(string encoded)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && FixedTimeEquals(decoded[(colon + 1)..], options.Password!);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private enum DigestResult
    {
        Ok,
        Stale,
        Wrong,
    }

    private DigestResult CheckDigest(Dictionary<string, string> p, string method)
    {
        if (!p.TryGetValue("nonce", out var nonce) || !p.TryGetValue("response", out var response) || !p.TryGetValue("uri", out var uri)
            || !p.TryGetValue("cnonce", out var cnonce) || !p.TryGetValue("nc", out var nc)
            || p.GetValueOrDefault("realm") != options.HostName || p.GetValueOrDefault("opaque") != _opaque
            || p.GetValueOrDefault("qop") != "auth")
        {
            return DigestResult.Wrong;
        }

        var user = p.GetValueOrDefault("username", "");
        var ha1 = Md5($"{Md5($"{user}:{options.HostName}:{options.Password}")}:{nonce}:{cnonce}");
        var ha2 = Md5($"{method}:{uri}");
        var expected = Md5($"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}");
        if (!FixedTimeEquals(expected, response.ToLowerInvariant()))
        {
            return DigestResult.Wrong;
        }

        // Right password: a nonce the device no longer honours is stale, not wrong.
        return _nonces.TryGetValue(nonce, out var issued) && time.GetUtcNow() - issued <= options.NonceLifetime
            ? DigestResult.Ok
            : DigestResult.Stale;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "HTTP Digest MD5-sess is what the device speaks.")]
    private static string Md5(string s) => Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(s))).ToLowerInvariant();

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
