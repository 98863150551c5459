using System.ComponentModel.DataAnnotations;

namespace Wattstream.Simulation;

public sealed class SimulationOptions : IValidatableObject
{
    public const string SectionName = "Simulation";

    /// <summary>Run the simulator. By default it runs when no sources are configured.</summary>
    public bool? Enabled { get; set; }

    [Required, RegularExpression(@"^[^\s.*>]+$")]
    public string Org { get; set; } = "demo";

    [Range(1, 1000)]
    public int Sites { get; set; } = 3;

    /// <summary>How often every DER reports.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Makes runs reproducible; null picks a random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Where the sites are: the sun's path over the PV follows from it.</summary>
    [Range(-90, 90)]
    public double Latitude { get; set; } = 47.37;

    [Range(-180, 180)]
    public double Longitude { get; set; } = 8.54;

    /// <summary>The sites' time zone (IANA id) for the meters' local Date/Time and tariffs; null for the machine's.</summary>
    public string? TimeZone { get; set; }

    /// <summary>Which sites (1-based) have an EV charger.</summary>
    public int[] EvChargerSites { get; set; } = [1];

    /// <summary>
    /// Which sites (1-based) have a prepaid grid meter: its credit falls with imported energy at the site's tariff
    /// (<c>Sites:{site}:Tariff</c>) and is topped up. Site 3's meter is the HES seed's prepaid meter 62124022443.
    /// </summary>
    public int[] PrepaidSites { get; set; } = [3];

    /// <summary>A prepaid meter's credit at start and after each top-up, in its tariff's currency.</summary>
    [Range(0.01, 1_000_000)]
    public double PrepaidTopUp { get; set; } = 250;

    /// <summary>A prepaid meter's credit is topped up when it falls below this.</summary>
    [Range(0, 1_000_000)]
    public double PrepaidThreshold { get; set; } = 25;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PrepaidThreshold >= PrepaidTopUp)
        {
            yield return new ValidationResult("PrepaidThreshold must be below PrepaidTopUp.", [nameof(PrepaidThreshold)]);
        }
    }

    public TimeZoneInfo ResolveTimeZone() =>
        string.IsNullOrEmpty(TimeZone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}
