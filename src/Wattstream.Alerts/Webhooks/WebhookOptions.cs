using System.ComponentModel.DataAnnotations;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Webhooks;

/// <summary>One receiver of alerts (<c>Alerts:Webhooks</c>): where, the signing secret, and which alerts.</summary>
public sealed class WebhookOptions
{
    /// <summary>A name for logs and <c>/api/alerts/deliveries</c>; the URL's host when absent.</summary>
    public string? Name { get; set; }

    /// <summary>An absolute http or https URL. Only its scheme, host and path are ever shown.</summary>
    public string? Url { get; set; }

    /// <summary>The HMAC-SHA256 key the receiver checks signatures with (at least 16 characters). Never logged or shown.</summary>
    public string? Secret { get; set; }

    /// <summary>Only this org's alerts; null for every org's.</summary>
    public string? Org { get; set; }

    /// <summary>Only these sites' alerts; empty for every site.</summary>
    public List<string> Sites { get; set; } = [];

    /// <summary>Only these types (<c>low_voltage</c>, …); empty for every type.</summary>
    public List<string> Types { get; set; } = [];

    /// <summary>Also send resolutions, not only firing alerts.</summary>
    public bool Resolved { get; set; } = true;

    public string DisplayName => Name ?? (Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? uri.Host : "webhook");

    /// <summary>The URL without query, fragment or user info: safe to show (a token in a query string stays hidden).</summary>
    public string SafeUrl => Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path).Replace(uri.UserInfo + "@", "", StringComparison.Ordinal) : "";

    /// <summary>Each problem with the setting it concerns.</summary>
    public IEnumerable<(string Field, string Problem)> Validate()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            yield return ("Url", "an absolute http or https URL is required.");
        }

        if (Secret is not { Length: >= 16 })
        {
            yield return ("Secret", "at least 16 characters (the HMAC key receivers verify signatures with).");
        }

        if (Org is not null && !Subjects.IsValidToken(Org))
        {
            yield return ("Org", "not a valid id.");
        }
    }
}

/// <summary>How webhook POSTs are retried (<c>Alerts:WebhookDelivery</c>), through Microsoft.Extensions.Http.Resilience.</summary>
public sealed class WebhookDeliveryOptions
{
    public const string SectionName = "Alerts:WebhookDelivery";

    /// <summary>Attempts per alert, the first included; retried on 5xx, 408, 429, timeouts and connection errors.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first retry's median delay; it doubles per retry, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Alerts waiting per webhook; past it the oldest go to the dead-letter list.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Failed deliveries kept for <c>/api/alerts/deliveries</c>.</summary>
    [Range(1, 100_000)]
    public int DeadLetterCapacity { get; set; } = 1000;
}
