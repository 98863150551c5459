namespace Wattstream.Telemetry;

/// <summary>
/// Where a reading comes from: organisation / site / device / DER. One instance per DER is meant to be
/// reused by its source, so the subject string is built once and not per reading.
/// </summary>
public sealed class DerAddress : IEquatable<DerAddress>
{
    public DerAddress(string org, string site, string device, string der)
    {
        Subjects.ValidateToken(org, nameof(org));
        Subjects.ValidateToken(site, nameof(site));
        Subjects.ValidateToken(device, nameof(device));
        Subjects.ValidateToken(der, nameof(der));
        Org = org;
        Site = site;
        Device = device;
        Der = der;
        Subject = Subjects.Telemetry(org, site, device, der);
    }

    public string Org { get; }
    public string Site { get; }
    public string Device { get; }
    public string Der { get; }

    /// <summary><c>orgs.{org}.sites.{site}.devices.{device}.ders.{der}.telemetry.json.v1</c></summary>
    public string Subject { get; }

    public static bool TryCreate(string? org, string? site, string? device, string? der, out DerAddress? address)
    {
        address = null;
        if (!Subjects.IsValidToken(org) || !Subjects.IsValidToken(site) || !Subjects.IsValidToken(device) || !Subjects.IsValidToken(der))
        {
            return false;
        }

        address = new DerAddress(org!, site!, device!, der!);
        return true;
    }

    public bool Equals(DerAddress? other) => other is not null && (ReferenceEquals(this, other) || string.Equals(Subject, other.Subject, StringComparison.Ordinal));

    public override bool Equals(object? obj) => Equals(obj as DerAddress);

    public override int GetHashCode() => Subject.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => Subject;
}
