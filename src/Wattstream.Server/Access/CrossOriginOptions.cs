using System.ComponentModel.DataAnnotations;

namespace Wattstream.Server.Access;

/// <summary>Which browser origins may call the hub (section <c>Cors</c>).</summary>
public sealed class CrossOriginOptions
{
    public const string SectionName = "Cors";

    /// <summary>Origins allowed besides the local ones, e.g. "https://dashboard.example.com"; "*" allows any.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Allow http(s)://localhost, 127.0.0.1 and [::1] on any port (browser dev servers such as the HES frontend's :3000).
    /// Unset, it is on while the hub listens on loopback only and off once it listens on other addresses (where a page
    /// on a user's own machine is not necessarily the user's).
    /// </summary>
    public bool? AllowLocalhost { get; set; }

    [Range(0, 86_400)]
    public int PreflightMaxAgeSeconds { get; set; } = 600;
}
