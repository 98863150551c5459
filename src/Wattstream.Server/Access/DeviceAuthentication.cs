using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Server.Endpoints;

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

    /// <summary>The Digest and Basic realm (a device uses its host name).</summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,64}$")]
    public string Realm { get; set; } = "wattstream";

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

/// <summary>The device password as an authentication scheme; the check itself is the emulator's <see cref="DeviceAuthenticator"/>.</summary>
internal sealed class DeviceAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    DeviceAuthenticator device,
    IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Device";

    private bool _stale;

    /// <summary>The paths that answer like the device: <c>/api/v1/…</c> and <c>/meters/{meter}/api/v1/…</c>.</summary>
    public static bool IsDevicePath(PathString path)
    {
        if (path.StartsWithSegments("/api/v1"))
        {
            return true;
        }

        var value = path.Value;
        if (!path.StartsWithSegments("/meters") || value is null)
        {
            return false;
        }

        var meterEnd = value.IndexOf('/', "/meters/".Length);
        return meterEnd > 0 && new PathString(value[meterEnd..]).StartsWithSegments("/api/v1");
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!IsDevicePath(Request.Path))
        {
            return Task.FromResult(AuthenticateResult.NoResult()); // the default scheme without tokens: every other path is open
        }

        switch (device.Check(Request))
        {
            case DeviceCheck.Accepted:
                var grant = auth.Value.Device;
                var claims = new List<Claim> { new("sub", "device"), new(Caller.ScopeClaim, "read") };
                // Without tokens Orgs may be empty: then the password reads every org, as everyone may on such a hub.
                claims.AddRange((grant.Orgs.Length == 0 ? ["*"] : grant.Orgs).Select(o => new Claim(Caller.OrgClaim, o)));
                claims.AddRange(grant.Sites.Select(s => new Claim(Caller.SitesClaim, s)));
                var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, "sub", null));
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
            case DeviceCheck.Stale:
                _stale = true;
                return Task.FromResult(AuthenticateResult.Fail("stale nonce"));
            case DeviceCheck.Refused:
                return Task.FromResult(AuthenticateResult.Fail("wrong device password"));
            default:
                return Task.FromResult(AuthenticateResult.NoResult());
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
    public static DeviceAuthenticator CreateAuthenticator(DeviceAuthOptions device, TimeProvider time) =>
        new(
            device.Password is null
                ? null
                : new DeviceCredentials(device.Password, device.Realm, device.Schemes != DeviceAuthSchemes.Basic, device.Schemes != DeviceAuthSchemes.Digest, device.NonceLifetime),
            time);
}
