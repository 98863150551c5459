using System.Text;
using Wattstream.Telemetry;

namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>
/// The addresses of DERs pushed lately, found again from a pushed reading's id bytes: a gateway pushes the same DERs over
/// and over, and four id strings, an address and its subject per reading were a good part of a push's garbage (issue 31).
/// A fixed table indexed by a hash of the ids; a slot holds the last address hashed there, so a miss only costs what
/// building the address did before. Shared by every request; a slot is one reference, read and written whole.
/// </summary>
internal static class PushedAddresses
{
    private const int Slots = 4096; // a power of two

    private static readonly DerAddress?[] Table = new DerAddress?[Slots];

    /// <summary>The address whose ids are the bytes at <paramref name="ids"/> (org, site, device, der), if kept.</summary>
    public static DerAddress? Find(ReadOnlySpan<byte> json, ReadOnlySpan<Range> ids) =>
        Volatile.Read(ref Table[Slot(json, ids)]) is { } address
        && Ascii.Equals(json[ids[0]], address.Org) && Ascii.Equals(json[ids[1]], address.Site)
        && Ascii.Equals(json[ids[2]], address.Device) && Ascii.Equals(json[ids[3]], address.Der)
            ? address
            : null;

    /// <summary>Keeps <paramref name="address"/>, made from the bytes at <paramref name="ids"/>, for the next reading of its DER.</summary>
    public static void Keep(ReadOnlySpan<byte> json, ReadOnlySpan<Range> ids, DerAddress address) =>
        Volatile.Write(ref Table[Slot(json, ids)], address);

    /// <summary>The id at <paramref name="id"/> as a string (UTF-8, not unescaped); null when empty or absent.</summary>
    public static string? Decode(ReadOnlySpan<byte> json, Range id)
    {
        var bytes = json[id];
        return bytes.IsEmpty ? null : Encoding.UTF8.GetString(bytes);
    }

    private static int Slot(ReadOnlySpan<byte> json, ReadOnlySpan<Range> ids)
    {
        var hash = new HashCode();
        foreach (var id in ids)
        {
            hash.AddBytes(json[id]);
            hash.Add(id.End.Value - id.Start.Value); // "ab"+"c" and "a"+"bc" differ
        }

        return hash.ToHashCode() & (Slots - 1);
    }
}
