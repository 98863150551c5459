using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

using Wattstream.DeviceAuthentication;

namespace Wattstream.Sources.Http;

/// <summary>
/// The client side of device authentication (the device's side is <c>DeviceAuthVerifier</c>): authenticates to a whatwatt device the way <c>curl --anyauth -u ":PASSWORD"</c> does: the scheme comes from the
/// server's challenge. Digest (MD5-sess or MD5, qop=auth, or auth-int when that is all the device offers, empty user name, a fresh cnonce, nc counting from 00000001 under
/// one nonce, opaque echoed) or Basic. Once a challenge is known it is answered up front on later requests; a
/// <c>401 … stale=true</c> (or any new challenge to such an up-front answer, as after a device reboot) is retried once
/// with the new nonce, a new cnonce and nc reset.
/// </summary>
/// <remarks>
/// HttpClient's own Digest support is not used: it does not send an empty user name, and a test against the emulator
/// cannot make it show the stale-nonce retry the device needs.
/// </remarks>
/// <para>
/// The scheme is not the server's choice alone: a fake device that offers Basic would get the password in clear text.
/// With <see cref="AuthScheme.Digest"/> (the default) only Digest is answered; <see cref="AuthScheme.Basic"/> is for
/// firmware before 1.10; <see cref="AuthScheme.Auto"/> answers the first scheme offered and keeps to it, refusing a later
/// downgrade to Basic. A refused challenge is answered with nothing: the 401 is returned and <see cref="Refusal"/> says why.
/// </para>
public sealed class DeviceAuthClientHandler(string password, string user = "", AuthScheme scheme = AuthScheme.Digest) : DelegatingHandler
{
    private readonly Lock _gate = new();
    private DigestChallenge? _digest;
    private bool _basic;
    private int _nc;
    private AuthScheme? _pinned = scheme == AuthScheme.Auto ? null : scheme;

    /// <summary>Why the last challenge was not answered (a scheme the settings do not allow), or null.</summary>
    public string? Refusal { get; private set; }

    /// <summary>Requests answered with a stale-nonce challenge and retried.</summary>
    public int StaleRetries { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await AuthorizeAsync(request, cancellationToken);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var sent = request.Headers.Authorization?.Scheme;
        var digest = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Digest", StringComparison.OrdinalIgnoreCase));
        var basic = response.Headers.WwwAuthenticate.Any(h => h.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase));
        if (digest is not null && _pinned == AuthScheme.Basic)
        {
            digest = null; // configured for Basic: answer the Basic offer, if there is one
        }

        if (digest is null && basic && _pinned == AuthScheme.Digest)
        {
            Refusal = scheme == AuthScheme.Auto
                ? "the device asked for Basic authentication after Digest had been used: refusing the downgrade (the password would travel in clear text)"
                : "the device offers only Basic authentication, which sends the password in clear text; set the source's AuthScheme to basic (firmware before 1.10) or auto to allow it";
            return response;
        }

        if (digest is null && !basic && _pinned == AuthScheme.Basic)
        {
            Refusal = "the source's AuthScheme is basic but the device does not offer Basic authentication";
            return response;
        }

        Refusal = null;
        if (digest is not null)
        {
            // Answered either unauthenticated or with a digest computed for an earlier challenge (a stale nonce, or a
            // device that rebooted and forgot it): answer this challenge once. Refused again means a wrong password.
            var challenge = DigestChallenge.Parse(digest.Parameter ?? "");
            lock (_gate)
            {
                _digest = challenge;
                _basic = false;
                _nc = 0;
                _pinned ??= AuthScheme.Digest;
            }

            if (challenge.Stale)
            {
                StaleRetries++;
            }
        }
        else if (basic && sent is null)
        {
            lock (_gate)
            {
                _basic = true;
                _digest = null;
                _pinned ??= AuthScheme.Basic;
            }
        }
        else
        {
            return response; // Basic credentials refused, or a scheme we do not speak
        }

        response.Dispose();
        using var retry = Clone(request);
        await AuthorizeAsync(retry, cancellationToken);
        return await base.SendAsync(retry, cancellationToken);
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        DigestChallenge? digest;
        int nc;
        lock (_gate)
        {
            if (_basic)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
                return;
            }

            digest = _digest;
            nc = digest is null ? 0 : ++_nc;
        }

        if (digest is null)
        {
            return;
        }

        var uri = request.RequestUri!.PathAndQuery;
        var cnonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var ncText = nc.ToString("x8", CultureInfo.InvariantCulture);
        var sess = digest.Algorithm.EndsWith("-sess", StringComparison.OrdinalIgnoreCase);
        var ha1 = DigestHash.Md5($"{user}:{digest.Realm}:{password}");
        if (sess)
        {
            ha1 = DigestHash.Md5($"{ha1}:{digest.Nonce}:{cnonce}");
        }

        var qop = digest.Qop;
        // auth-int covers the body as well: HA2 = MD5(method:uri:MD5(body)).
        var ha2 = qop == "auth-int"
            ? DigestHash.Md5($"{request.Method.Method}:{uri}:{DigestHash.Md5(request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken))}")
            : DigestHash.Md5($"{request.Method.Method}:{uri}");
        var response = qop is null ? DigestHash.Md5($"{ha1}:{digest.Nonce}:{ha2}") : DigestHash.Md5($"{ha1}:{digest.Nonce}:{ncText}:{cnonce}:{qop}:{ha2}");
        var header = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"username=\"{user}\", realm=\"{digest.Realm}\", nonce=\"{digest.Nonce}\", uri=\"{uri}\", algorithm={digest.Algorithm}, response=\"{response}\"");
        if (qop is not null)
        {
            header.Append(CultureInfo.InvariantCulture, $", qop={qop}, nc={ncText}, cnonce=\"{cnonce}\"");
        }

        if (digest.Opaque is not null)
        {
            header.Append(CultureInfo.InvariantCulture, $", opaque=\"{digest.Opaque}\"");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Digest", header.ToString());
    }

    private static HttpRequestMessage Clone(HttpRequestMessage request)
    {
        var clone = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var (name, values) in request.Headers)
        {
            if (!name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
            {
                clone.Headers.TryAddWithoutValidation(name, values);
            }
        }

        return clone;
    }
}
