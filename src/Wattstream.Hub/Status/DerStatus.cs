using System.Buffers;
using System.Text.Json;
using Wattstream.Hub.Feeds;
using Wattstream.Telemetry;

namespace Wattstream.Hub.Status;

/// <summary>
/// The status of one DER at one moment. <see cref="Version"/> increases with every change on the board; <see cref="Since"/>
/// is when the status last changed.
/// </summary>
public sealed record DerStatus(DerAddress Der, DerType Type, ConnectionStatus Status, DateTimeOffset? LastSeen, string? Detail, long Version, DateTimeOffset? Since = null)
    : IFeedItem
{
    private byte[]? _json;
    private FramedEncodings? _encodings;

    // A copy (`with`) is another status: it gets its own JSON and framings, never the original's.
    private DerStatus(DerStatus original)
    {
        Der = original.Der;
        Type = original.Type;
        Status = original.Status;
        LastSeen = original.LastSeen;
        Detail = original.Detail;
        Version = original.Version;
        Since = original.Since;
    }

    /// <summary><c>orgs.{org}.sites.{site}.devices.{device}.ders.{der}.status.json.v1</c>.</summary>
    public string Subject => Subjects.Status(Der.Org, Der.Site, Der.Device, Der.Der);

    string IFeedItem.Org => Der.Org;

    string IFeedItem.Site => Der.Site;

    DerAddress? IFeedItem.Der => Der;

    long IFeedItem.Id => Version;

    /// <summary>
    /// <c>{"org","site","device","der","type","status","lastSeen","since","detail"}</c>: the status as NATS carries it,
    /// written here once.
    /// </summary>
    public ReadOnlyMemory<byte> Json => _json ??= Encode(this);

    // Made on first use: the board copies a status on every reading (its last-seen time), and most copies are never sent.
    public FramedEncodings Encodings => LazyInitializer.EnsureInitialized(ref _encodings);

    public bool Equals(DerStatus? other) =>
        other is not null && Der.Equals(other.Der) && Type == other.Type && Status == other.Status && LastSeen == other.LastSeen
        && Detail == other.Detail && Version == other.Version && Since == other.Since;

    public override int GetHashCode() => HashCode.Combine(Der, Type, Status, LastSeen, Detail, Version, Since);

    private static byte[] Encode(DerStatus status)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("org", status.Der.Org);
            json.WriteString("site", status.Der.Site);
            json.WriteString("device", status.Der.Device);
            json.WriteString("der", status.Der.Der);
            json.WriteString("type", status.Type.ToWireName());
            json.WriteString("status", status.Status.ToWireName());
            if (status.LastSeen is { } lastSeen)
            {
                json.WriteString("lastSeen", WireTime.Format(lastSeen));
            }

            if (status.Since is { } since)
            {
                json.WriteString("since", WireTime.Format(since));
            }

            if (status.Detail is { } detail)
            {
                json.WriteString("detail", detail);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
