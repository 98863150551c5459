using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Wattstream.DeviceAuthentication;

/// <summary>
/// What a device-style password check accepts: Digest (firmware 1.10+), Basic (older), or both. The realm is the
/// device's host name; <see cref="RealmOf"/> gives it per request, as a server answering for many devices (the hub)
/// has one per device.
/// </summary>
public sealed record DeviceCredentials(string Password, Func<HttpRequest, string> RealmOf, bool Digest, bool Basic, TimeSpan NonceLifetime)
{
    /// <summary>One realm for every request: a single device's host name.</summary>
    public DeviceCredentials(string password, string realm, bool digest, bool basic, TimeSpan nonceLifetime)
        : this(password, _ => realm, digest, basic, nonceLifetime)
    {
    }

    /// <summary>The Digest qop values offered; the device offers <c>auth</c> and the body-covering <c>auth-int</c>.</summary>
    public DigestQop Qop { get; init; } = DigestQop.Auth | DigestQop.AuthInt;
}

/// <summary>Digest's quality of protection: <c>auth</c> (the request line) and <c>auth-int</c> (the body too).</summary>
[Flags]
public enum DigestQop
{
    Auth = 1,
    AuthInt = 2,
}

/// <summary>The outcome of checking a request's credentials.</summary>
public enum DeviceCheck
{
    /// <summary>The request carried no credentials of an accepted scheme.</summary>
    None,
    Accepted,

    /// <summary>The right password on a nonce the device no longer honours: challenge again with <c>stale=true</c>.</summary>
    Stale,
    Refused,
}

/// <summary>
/// The device's side of HTTP authentication: Digest (MD5-sess, qop=auth or auth-int, realm = host name, opaque, nonces that expire
/// and are then answered with <c>stale=true</c>) or Basic, both with an empty user name and the Web UI password. The
/// emulator uses it as the device does; the hub uses it for its device-compatible endpoints (Auth:Device). Tests check
/// it against digests computed by hand (Wattstream.Testing's HandDigest), not against this code.
/// </summary>
/// <remarks>
/// Nonces hold no state: each is its issue time and an HMAC of it under a key of this instance, so anyone may ask for
/// challenges without growing a table. A Digest answer must be for the request it comes with (its <c>uri</c>), and its
/// nonce count (<c>nc</c>) may be used once per nonce (<see cref="NonceCounts"/>), so a captured answer cannot be replayed:
/// a repeated count is answered <c>stale=true</c> with a new nonce, which an honest client follows without a word.
/// </remarks>
public sealed class DeviceAuthVerifier(DeviceCredentials? credentials, TimeProvider time)
{
    private readonly byte[] _nonceKey = RandomNumberGenerator.GetBytes(32);
    private long _expiredBeforeTicks = long.MinValue;
    private readonly string _opaque = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private long _failures;
    private long _staleAnswers;
    private long _credentialsSeen;
    private readonly NonceCounts _counts = new();

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Requests that carried credentials of any scheme (a client that refuses to answer a challenge sends none).</summary>
    public long CredentialsSeen => Interlocked.Read(ref _credentialsSeen);

    public long StaleAnswers => Interlocked.Read(ref _staleAnswers);

    /// <summary>Makes the device forget its nonces' age: every nonce issued so far is now expired.</summary>
    public void ExpireNonces() => Interlocked.Exchange(ref _expiredBeforeTicks, time.GetUtcNow().UtcTicks + 1);

    /// <summary>True when the request may proceed; otherwise the 401 challenge is already written to the response.</summary>
    public async Task<bool> AuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (credentials is null)
        {
            return true;
        }

        var check = await CheckAsync(context.Request);
        if (check == DeviceCheck.Accepted)
        {
            return true;
        }

        Challenge(context.Response, stale: check == DeviceCheck.Stale);
        return false;
    }

    /// <summary>Checks the request's Authorization header against the password (an <c>auth-int</c> answer: and its body).</summary>
    public async Task<DeviceCheck> CheckAsync(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (credentials is null)
        {
            return DeviceCheck.Accepted;
        }

        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            Interlocked.Increment(ref _credentialsSeen);
        }

        var result = DeviceCheck.None;
        if (credentials.Basic && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            result = CheckBasic(header[6..].Trim()) ? DeviceCheck.Accepted : DeviceCheck.Refused;
        }
        else if (credentials.Digest && header.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase))
        {
            result = await CheckDigestAsync(AuthParameters.Parse(header[7..]), request);
        }

        if (result == DeviceCheck.Stale)
        {
            Interlocked.Increment(ref _staleAnswers);
        }
        else if (header.Length > 0 && result != DeviceCheck.Accepted)
        {
            Interlocked.Increment(ref _failures);
        }

        return result;
    }

    /// <summary>A 401 with the device's challenges: Digest with a fresh nonce (stale when asked), and/or Basic.</summary>
    public void Challenge(HttpResponse response, bool stale)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (credentials is null)
        {
            return;
        }

        response.StatusCode = StatusCodes.Status401Unauthorized;
        var realm = credentials.RealmOf(response.HttpContext.Request);
        var challenges = new List<string>(2);
        if (credentials.Digest)
        {
            var nonce = Nonce(time.GetUtcNow().UtcTicks);
            var qop = credentials.Qop switch { DigestQop.Auth => "auth", DigestQop.AuthInt => "auth-int", _ => "auth,auth-int" };
            challenges.Add($"Digest realm=\"{realm}\", qop=\"{qop}\", algorithm=MD5-sess, nonce=\"{nonce}\", opaque=\"{_opaque}\"{(stale ? ", stale=true" : "")}");
        }

        if (credentials.Basic)
        {
            challenges.Add($"Basic realm=\"{realm}\"");
        }

        response.Headers.WWWAuthenticate = challenges.ToArray();
    }

    // {issue ticks, 16 hex}{HMAC-SHA256 of them, first 16 bytes, 32 hex}
    private string Nonce(long ticks)
    {
        Span<byte> issued = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(issued, ticks);
        return Convert.ToHexString(issued).ToLowerInvariant() + Convert.ToHexString(HMACSHA256.HashData(_nonceKey, issued)[..16]).ToLowerInvariant();
    }

    // The issue time of a nonce this instance made, or null for any other string.
    private long? IssuedAt(string nonce)
    {
        if (nonce.Length != 48 || !long.TryParse(nonce.AsSpan(0, 16), System.Globalization.NumberStyles.HexNumber, null, out var ticks))
        {
            return null;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Nonce(ticks)), Encoding.ASCII.GetBytes(nonce.ToLowerInvariant())) ? ticks : null;
    }

    private bool CheckBasic(string encoded)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && FixedTimeEquals(decoded[(colon + 1)..], credentials!.Password);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private async Task<DeviceCheck> CheckDigestAsync(Dictionary<string, string> p, HttpRequest request)
    {
        var realm = credentials!.RealmOf(request);
        var qop = p.GetValueOrDefault("qop") switch
        {
            "auth" => DigestQop.Auth,
            "auth-int" => DigestQop.AuthInt,
            _ => (DigestQop)0,
        };
        if (!p.TryGetValue("nonce", out var nonce) || !p.TryGetValue("response", out var response) || !p.TryGetValue("uri", out var uri)
            || !p.TryGetValue("cnonce", out var cnonce) || !p.TryGetValue("nc", out var nc)
            || p.GetValueOrDefault("realm") != realm || p.GetValueOrDefault("opaque") != _opaque
            || qop == 0 || !credentials.Qop.HasFlag(qop) || uri != $"{request.PathBase}{request.Path}{request.QueryString}")
        {
            return DeviceCheck.Refused; // (an answer for another request, too: a captured header does not open other paths)
        }

        var user = p.GetValueOrDefault("username", "");
        var ha1 = DigestHash.Md5($"{DigestHash.Md5($"{user}:{realm}:{credentials.Password}")}:{nonce}:{cnonce}");
        // auth-int covers the body too (RFC 7616: HA2 = MD5(method:uri:MD5(body))), so a changed body is refused.
        var ha2 = qop == DigestQop.AuthInt ? DigestHash.Md5($"{request.Method}:{uri}:{await BodyMd5Async(request)}") : DigestHash.Md5($"{request.Method}:{uri}");
        var expected = DigestHash.Md5($"{ha1}:{nonce}:{nc}:{cnonce}:{p["qop"]}:{ha2}");
        if (!FixedTimeEquals(expected, response.ToLowerInvariant()))
        {
            return DeviceCheck.Refused;
        }

        // Right password: a nonce the device no longer honours (too old, or not its own), or a count already used with
        // it (a replay), is stale, not wrong.
        var now = time.GetUtcNow().UtcTicks;
        return IssuedAt(nonce) is { } issued
            && issued >= Interlocked.Read(ref _expiredBeforeTicks)
            && now - issued <= credentials.NonceLifetime.Ticks
            && uint.TryParse(nc, System.Globalization.NumberStyles.HexNumber, null, out var count)
            && _counts.TryUse(issued, nonce, count, now - credentials.NonceLifetime.Ticks)
            ? DeviceCheck.Accepted
            : DeviceCheck.Stale;
    }

    /// <summary>
    /// The nonce counts used with each live nonce: the highest and a window of the 64 below it (as IPsec's anti-replay
    /// window), so requests that overtake each other still pass while a count is accepted once. Only answers with the
    /// right password get here, and at most <see cref="MaxNonces"/> nonces are tracked: past that the oldest is forgotten
    /// and every nonce issued up to it is stale from then on (its client gets a new one), never accepted unchecked.
    /// </summary>
    private sealed class NonceCounts
    {
        private const int MaxNonces = 10_000;
        private readonly Dictionary<string, (long Issued, uint Highest, ulong Below)> _nonces = new(StringComparer.Ordinal);
        private long _forgottenThrough = long.MinValue;

        public bool TryUse(long issued, string nonce, uint count, long expiredBefore)
        {
            lock (_nonces)
            {
                if (issued <= _forgottenThrough)
                {
                    return false;
                }

                if (!_nonces.TryGetValue(nonce, out var seen))
                {
                    Forget(expiredBefore);
                    _nonces[nonce] = (issued, count, 0);
                    return true;
                }

                if (count > seen.Highest)
                {
                    var shift = count - seen.Highest;
                    var below = shift >= 64 ? 0 : (seen.Below << (int)shift) | (1UL << (int)(shift - 1));
                    _nonces[nonce] = (issued, count, below);
                    return true;
                }

                var back = seen.Highest - count; // 0: the highest itself, used
                if (back == 0 || back > 64 || (seen.Below & (1UL << (int)(back - 1))) != 0)
                {
                    return false;
                }

                _nonces[nonce] = (issued, seen.Highest, seen.Below | (1UL << (int)(back - 1)));
                return true;
            }
        }

        // Under the lock: expired nonces go; past the cap, the oldest too, and every nonce issued up to it turns stale.
        private void Forget(long expiredBefore)
        {
            if (_nonces.Count < MaxNonces)
            {
                return;
            }

            foreach (var (key, value) in _nonces.Where(n => n.Value.Issued < expiredBefore).ToArray())
            {
                _nonces.Remove(key);
            }

            while (_nonces.Count >= MaxNonces)
            {
                var oldest = _nonces.MinBy(n => n.Value.Issued);
                _forgottenThrough = Math.Max(_forgottenThrough, oldest.Value.Issued);
                _nonces.Remove(oldest.Key);
            }
        }
    }

    // The body's MD5, hashed as it streams in (the server's request size limit bounds it), then rewound for the endpoint.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "HTTP Digest auth-int hashes the body with MD5.")]
    private static async Task<string> BodyMd5Async(HttpRequest request)
    {
        request.EnableBuffering();
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, request.HttpContext.RequestAborted)) > 0)
        {
            md5.AppendData(buffer, 0, read);
        }

        request.Body.Position = 0;
        return Convert.ToHexString(md5.GetHashAndReset()).ToLowerInvariant();
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
