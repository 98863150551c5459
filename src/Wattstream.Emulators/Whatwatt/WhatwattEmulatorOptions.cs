using Wattstream.DeviceAuthentication;
using Wattstream.Emulators.Faults;

namespace Wattstream.Emulators.Whatwatt;

public enum DeviceAuth
{
    /// <summary>HTTP Digest, MD5-sess, qop=auth (and auth-int): firmware 1.10 and later.</summary>
    Digest,

    /// <summary>HTTP Basic with an empty user name: older firmware.</summary>
    Basic,
}

public sealed class WhatwattEmulatorOptions
{
    /// <summary>0 picks a free port.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Loopback by default: an emulator is for this machine.</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>The Web UI password; none means no authentication, as on a device without one.</summary>
    public string? Password { get; set; }

    public DeviceAuth Auth { get; set; } = DeviceAuth.Digest;

    /// <summary>The Digest qop values the device offers: <c>auth</c> and <c>auth-int</c>, or one of them (to test a client's choice).</summary>
    public DigestQop Qop { get; set; } = DigestQop.Auth | DigestQop.AuthInt;

    /// <summary>How often the meter reports (P1 meters about every second).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a Digest nonce is good for; after that the device answers <c>401 … stale=true</c>.</summary>
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public IReadOnlyList<FaultKind> Faults { get; set; } = [];

    /// <summary>Every this many events one is replaced by the next stream fault.</summary>
    public int FaultEvery { get; set; } = 3;

    public int? Seed { get; set; }

    /// <summary>Report just after whole seconds of the clock (for timing readings end to end) rather than every interval from the start.</summary>
    public bool WholeSeconds { get; set; }

    /// <summary>
    /// With <see cref="WholeSeconds"/>: how long after each whole second the reading is sent (0 to
    /// <see cref="MaxWholeSecondOffset"/>). The payload's clock still says the whole second, so a reading's send time is
    /// its time plus this offset. A fleet spreads its devices over the second with it, as unsynchronised meters are.
    /// </summary>
    public TimeSpan WholeSecondOffset { get; set; }

    /// <summary>The latest send within a second: the rest of the second is the timer's margin, so a late wake-up does not send in the next second.</summary>
    public static readonly TimeSpan MaxWholeSecondOffset = TimeSpan.FromMilliseconds(900);

    /// <summary>Which simulated site the meter is (1 and up); its number gives the meter number. A fleet numbers its devices.</summary>
    public int SiteNumber { get; set; } = 1;

    /// <summary>The device id (12 upper-case hex digits); the host name and Digest realm derive from it.</summary>
    public string DeviceId { get; set; } = "A842E3B1C0D4";

    public string HostName => $"whatwatt-{DeviceId[^6..]}";
}
