using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Wattstream.DeviceAuthentication;
using Wattstream.Server.Endpoints;
using Wattstream.Server.Families.Whatwatt;
using Wattstream.Streaming.Access;

namespace Wattstream.Server.Access;

/// <summary>
/// The device password of the whatwatt-compatible endpoints (section <c>Auth:Device</c>): tools written for a whatwatt
/// Go authenticate to <c>/api/v1/*</c> and <c>/meters/{meter}/api/v1/*</c> as they would to the device (Digest MD5-sess
/// or Basic, empty user name), and read what <see cref="Orgs"/> and <see cref="Sites"/> grant. In every auth mode:
/// with <c>Auth:Mode=none</c> a set password guards the device paths alone (everything else stays open), and reads every
/// org unless <see cref="Orgs"/> narrows it.
/// </summary>
public sealed class DeviceAuthOptions
{
    /// <summary>The password; unset, the device endpoints take tokens only (with <c>Mode=token</c>) or are open (<c>none</c>). Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// The Digest and Basic realm. Unset (the default), it is the device's, its host name: that of the meter the request
    /// addresses, as <c>/api/v1/system</c> reports it (<c>whatwatt-9373A7</c>); set, one realm for every meter.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,64}$")]
    public string? Realm { get; set; }

    /// <summary><c>digest</c> (firmware 1.10+), <c>basic</c> (older), or <c>both</c> (two challenges; a client takes the one it knows).</summary>
    public DeviceAuthSchemes Schemes { get; set; } = DeviceAuthSchemes.Both;

    /// <summary>How long a Digest nonce is honoured; after that the right password gets <c>stale=true</c> and a new nonce.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The orgs the password reads (required with a password and <c>Mode=token</c>; empty without tokens: every org); <c>*</c> for every org.</summary>
    public string[] Orgs { get; set; } = [];

    /// <summary>The sites within them; empty for every site.</summary>
    public string[] Sites { get; set; } = [];
}

public enum DeviceAuthSchemes
{
    Both,
    Digest,
    Basic,
}

/// <summary>The device password as an ASP.NET Core authentication scheme (scheme <c>Device</c>); the check itself is the shared <see cref="DeviceAuthVerifier"/> (the emulator's too).</summary>
internal sealed class DeviceAuthSchemeHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    DeviceAuthVerifier device,
    IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Device";

    private bool _stale;

    /// <summary>The paths that answer like the device: <c>/api/v1/…</c> and <c>/meters/{meter}/api/v1/…</c>.</summary>
    public static bool IsDevicePath(PathString path) => path.StartsWithSegments("/api/v1") || MeterOf(path) is not null;

    /// <summary>The meter of a <c>/meters/{meter}/api/v1/…</c> path, or null.</summary>
    public static string? MeterOf(PathString path)
    {
        var value = path.Value;
        if (!path.StartsWithSegments("/meters") || value is null)
        {
            return null;
        }

        var meterEnd = value.IndexOf('/', "/meters/".Length);
        return meterEnd > 0 && new PathString(value[meterEnd..]).StartsWithSegments("/api/v1") ? value["/meters/".Length..meterEnd] : null;
    }

    /// <summary>Who the device password makes a caller: a reader of what <c>Auth:Device:Orgs</c> and <c>Sites</c> grant.</summary>
    public static ClaimsPrincipal Principal(DeviceAuthOptions grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var claims = new List<Claim> { new("sub", "device"), new(Caller.ScopeClaim, "read") };
        // Without tokens Orgs may be empty: then the password reads every org, as everyone may on such a hub.
        claims.AddRange((grant.Orgs.Length == 0 ? ["*"] : grant.Orgs).Select(o => new Claim(Caller.OrgClaim, o)));
        claims.AddRange(grant.Sites.Select(s => new Claim(Caller.SitesClaim, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, "sub", null));
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!IsDevicePath(Request.Path))
        {
            return AuthenticateResult.NoResult(); // the default scheme without tokens: every other path is open
        }

        switch (await device.CheckAsync(Request))
        {
            case DeviceCheck.Accepted:
                return AuthenticateResult.Success(new AuthenticationTicket(Principal(auth.Value.Device), SchemeName));
            case DeviceCheck.Stale:
                _stale = true;
                return AuthenticateResult.Fail("stale nonce");
            case DeviceCheck.Refused:
                return AuthenticateResult.Fail("wrong device password");
            default:
                return AuthenticateResult.NoResult();
        }
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        device.Challenge(Response, _stale);
        await Problems.Problem(
                StatusCodes.Status401Unauthorized,
                _stale ? "stale_nonce" : "unauthorized",
                "Unauthorized",
                auth.Value.Mode == AuthMode.Token
                    ? "This endpoint answers like a whatwatt device: the device password with an empty user name (Digest, or Basic), or a bearer token."
                    : "This endpoint answers like a whatwatt device: the device password with an empty user name (Digest, or Basic).")
            .ExecuteAsync(Context);
    }

    /// <summary>The one device check of the hub, from its settings.</summary>
    public static DeviceAuthVerifier CreateVerifier(DeviceAuthOptions device, TimeProvider time, DerDirectory ders)
    {
        ArgumentNullException.ThrowIfNull(device);
        Func<HttpRequest, string> realm = device.Realm is { } fixedRealm ? _ => fixedRealm : new DeviceRealms(ders, device).Of;
        return new(
            device.Password is null
                ? null
                : new DeviceCredentials(device.Password, realm, device.Schemes != DeviceAuthSchemes.Basic, device.Schemes != DeviceAuthSchemes.Digest, device.NonceLifetime),
            time);
    }
}

/// <summary>
/// The realm of a device path, as the device's: the host name of the meter the request addresses (its path's
/// <c>/meters/{meter}</c>, its <c>?meter=</c>, or the first meter), among those the device password reads — the meter
/// and host name <c>/api/v1/system</c> then reports.
/// </summary>
/// <remarks>
/// A meter the password does not read, or that does not exist, gets a host name of the same form made from a key of
/// this process, so an unauthenticated caller cannot tell from the realm which meters exist.
/// </remarks>
internal sealed class DeviceRealms(DerDirectory ders, DeviceAuthOptions grant)
{
    private readonly TelemetryScope _scope = Caller.Of(DeviceAuthSchemeHandler.Principal(grant))!.Scope;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public string Of(HttpRequest request)
    {
        var meter = DeviceAuthSchemeHandler.MeterOf(request.Path) ?? request.Query["meter"].FirstOrDefault();
        return ders.TryFindMeter(meter, _scope, out var address, out _)
            ? WhatwattDeviceView.HostName(address)
            : WhatwattDeviceView.HostNameOf(Convert.ToHexString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(meter ?? ""))));
    }
}
