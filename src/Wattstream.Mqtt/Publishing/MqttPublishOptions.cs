using System.ComponentModel.DataAnnotations;
using Wattstream.Telemetry;

namespace Wattstream.Mqtt.Publishing;

/// <summary>
/// The hub's readings published to one MQTT broker, with Home Assistant discovery (section <c>Mqtt:Publish</c>).
/// Without <see cref="Url"/> no MQTT code runs.
/// </summary>
public sealed class MqttPublishOptions : IValidatableObject
{
    public const string SectionName = "Mqtt:Publish";

    /// <summary>Every org (<see cref="Orgs"/>), said explicitly.</summary>
    public const string AllOrgs = "*";

    /// <summary>The broker: <c>mqtt://127.0.0.1:1883</c> or <c>mqtts://broker:8883</c>. No credentials in it.</summary>
    public Uri? Url { get; set; }

    /// <summary>User name at the broker (with <see cref="Password"/>). Never logged.</summary>
    public string? Username { get; set; }

    /// <summary>Never logged; prefer the environment (<c>Mqtt__Publish__Password</c>).</summary>
    public string? Password { get; set; }

    /// <summary>For <c>mqtts://</c>: a CA certificate (PEM) the broker's certificate must chain to, instead of the system's roots.</summary>
    public string? CaFile { get; set; }

    /// <summary>The client id at the broker; unique per process when not set.</summary>
    [RegularExpression("^[A-Za-z0-9_.:-]{1,64}$")]
    public string? ClientId { get; set; }

    /// <summary>The first level of every topic this hub publishes: <c>{Prefix}/{org}/{site}/{der}/state</c>, <c>{Prefix}/status</c>.</summary>
    [Required]
    public string Prefix { get; set; } = "wattstream";

    /// <summary>Where Home Assistant looks for discovery messages (its own setting of the same name).</summary>
    [Required]
    public string DiscoveryPrefix { get; set; } = "homeassistant";

    /// <summary>
    /// The orgs published, or <c>*</c> for every org. Empty means every org too, but only on a hub without tokens that
    /// listens on loopback alone (one household's hub); any other hub must name them, so no org's readings reach a
    /// broker because nobody said otherwise.
    /// </summary>
    public List<string> Orgs { get; set; } = [];

    /// <summary>Readings held while the broker is away or slow; beyond this the oldest are dropped (counted).</summary>
    [Range(64, 10_000_000)]
    public int QueueCapacity { get; set; } = 16_384;

    public bool Enabled => Url is not null;

    /// <summary>Every org, by <c>*</c> or by naming none.</summary>
    public bool PublishesEveryOrg => Orgs.Count == 0 || Orgs.Contains(AllOrgs);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url is { } url)
        {
            if (!url.IsAbsoluteUri || url.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(url.Host))
            {
                yield return new ValidationResult("must be mqtt://host[:port] or mqtts://host[:port].", [nameof(Url)]);
            }
            else if (!string.IsNullOrEmpty(url.UserInfo))
            {
                // The URL is logged; credentials are settings of their own, which never are.
                yield return new ValidationResult("must not hold credentials: set Mqtt:Publish:Username and Mqtt:Publish:Password.", [nameof(Url)]);
            }
        }

        if (CaFile is not null && Url?.Scheme != "mqtts")
        {
            yield return new ValidationResult("applies to an mqtts:// Url only.", [nameof(CaFile)]);
        }

        if (Password is not null && Username is null)
        {
            yield return new ValidationResult("needs Mqtt:Publish:Username.", [nameof(Password)]);
        }

        foreach (var (name, value) in new[] { (nameof(Prefix), Prefix), (nameof(DiscoveryPrefix), DiscoveryPrefix) })
        {
            if (!IsTopicPrefix(value))
            {
                yield return new ValidationResult("must be one or more topic levels separated by '/', of letters, digits, '-' and '_' (no wildcards, no leading or trailing '/').", [name]);
            }
        }

        foreach (var org in Orgs)
        {
            if (org != AllOrgs && !Subjects.IsValidToken(org))
            {
                yield return new ValidationResult($"'{org}' is not an org id ({Subjects.TokenRule}) nor '*'.", [nameof(Orgs)]);
            }
        }
    }

    private static bool IsTopicPrefix(string? value) =>
        !string.IsNullOrEmpty(value) && value.Split('/').All(level => level.Length > 0 && level.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
}
