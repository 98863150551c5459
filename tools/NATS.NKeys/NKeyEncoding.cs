namespace NATS.NKeys;

/// <summary>Base32 (RFC 4648, no padding) of prefix + key + CRC16 (XMODEM, little-endian), as NKeys are written.</summary>
internal static class NKeyEncoding
{
    public const byte SeedPrefix = 18 << 3; // 'S'
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// <summary>Decodes and checks the CRC; returns prefix and key without the CRC.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var c in text)
        {
            var value = Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (value < 0)
            {
                throw new FormatException($"'{c}' is not base32");
            }

            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                bytes.Add((byte)(buffer >> bits));
                buffer &= (1 << bits) - 1;
            }
        }

        if (bytes.Count < 3)
        {
            throw new FormatException("too short for an NKey");
        }

        var data = bytes.ToArray();
        var crc = (ushort)(data[^2] | (data[^1] << 8));
        if (Crc16(data.AsSpan(0, data.Length - 2)) != crc)
        {
            throw new FormatException("the NKey's checksum does not match");
        }

        return data[..^2];
    }

    public static string Encode(ReadOnlySpan<byte> payload)
    {
        var crc = Crc16(payload);
        var data = new byte[payload.Length + 2];
        payload.CopyTo(data);
        data[^2] = (byte)crc;
        data[^1] = (byte)(crc >> 8);

        var text = new System.Text.StringBuilder((data.Length * 8 / 5) + 1);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                text.Append(Alphabet[(buffer >> bits) & 31]);
            }

            buffer &= (1 << bits) - 1;
        }

        if (bits > 0)
        {
            text.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return text.ToString();
    }

    /// <summary>CRC-16/XMODEM (polynomial 0x1021, initial 0).</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (var b in data)
        {
            crc ^= (ushort)(b << 8);
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc;
    }
}
