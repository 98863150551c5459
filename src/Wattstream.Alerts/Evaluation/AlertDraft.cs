using Wattstream.Telemetry;

namespace Wattstream.Alerts.Evaluation;

/// <summary>A firing alert's life: <c>firing</c>, then <c>resolved</c>.</summary>
public enum AlertState
{
    Firing,
    Resolved,
}

/// <summary>
/// An alert before the feed gives it an id: from a rule's evaluation, or reported by a client (<c>POST /api/alerts</c>).
/// </summary>
/// <param name="Der">The DER it is about; null for a reported alert about a whole site.</param>
/// <param name="Data">The reading that triggered it (the DER's last one for <c>stale</c> and <c>source_down</c>).</param>
/// <param name="RawData">A reported alert's <c>data</c>, kept as the client sent it.</param>
public sealed record AlertDraft(
    string Rule,
    string Type,
    AlertState State,
    string Message,
    long Timestamp,
    string Org,
    string Site,
    DerAddress? Der,
    double? Value,
    double? Threshold,
    Reading? Data,
    byte[]? RawData = null);

public static class AlertStates
{
    public static string ToWireName(this AlertState state) => state == AlertState.Firing ? "firing" : "resolved";

    public static bool TryParse(string? name, out AlertState state)
    {
        state = name == "resolved" ? AlertState.Resolved : AlertState.Firing;
        return name is "firing" or "resolved";
    }
}
