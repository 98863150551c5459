namespace Wattstream.Sources.Http;

/// <summary>Which HTTP authentication a source may answer a device's challenge with.</summary>
public enum AuthScheme
{
    /// <summary>Digest only (whatwatt firmware 1.10 and later): the password never leaves in clear text.</summary>
    Digest,

    /// <summary>Basic only (firmware before 1.10; the password is only base64-encoded: use it on a trusted network).</summary>
    Basic,

    /// <summary>The first scheme the device offers, kept from then on: a later offer of Basic after Digest is refused.</summary>
    Auto,
}
