using System.ComponentModel.DataAnnotations;
using Wattstream.Energy.Tariffs;

namespace Wattstream.Energy;

/// <summary>The <c>Energy</c> section: how often summaries go out and today's energy is refreshed.</summary>
public sealed class EnergyOptions
{
    public const string SectionName = "Energy";

    /// <summary>A site's summary goes out at most this often (when something changed).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan SummaryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often today's energy in the summaries is recomputed from history.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan TodayRefresh { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Per-site settings (<c>Sites:{site}:TimeZone</c>, <c>Sites:{site}:Tariff:…</c>), bound from the configuration's root.</summary>
public sealed class SitesOptions : IValidatableObject
{
    public Dictionary<string, SiteSettings> Sites { get; set; } = new(StringComparer.Ordinal);

    public SiteSettings? Find(string site) => Sites.GetValueOrDefault(site);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (id, site) in Sites)
        {
            if (site.TimeZone is { } zone && !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
            {
                yield return new ValidationResult($"'{zone}' is not a time zone this machine knows (an IANA id such as \"Europe/Zurich\").", [$"Sites:{id}:TimeZone"]);
            }

            if (site.Tariff is { } tariff)
            {
                var context = new ValidationContext(tariff);
                var results = new List<ValidationResult>();
                if (!Validator.TryValidateObject(tariff, context, results, validateAllProperties: true))
                {
                    foreach (var r in results)
                    {
                        yield return new ValidationResult(r.ErrorMessage, [.. r.MemberNames.Select(m => $"Sites:{id}:Tariff:{m}")]);
                    }
                }

                foreach (var problem in tariff.Validate())
                {
                    yield return new ValidationResult(problem, [$"Sites:{id}:Tariff"]);
                }
            }
        }
    }
}

public sealed class SiteSettings
{
    /// <summary>The site's IANA time zone: where its days and months begin. Absent: the machine's.</summary>
    public string? TimeZone { get; set; }

    public Tariff? Tariff { get; set; }

    public TimeZoneInfo ResolveTimeZone() => TimeZone is { } id ? TimeZoneInfo.FindSystemTimeZoneById(id) : TimeZoneInfo.Local;
}
