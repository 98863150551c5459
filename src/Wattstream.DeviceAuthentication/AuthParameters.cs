namespace Wattstream.DeviceAuthentication;

/// <summary>Parses <c>name="quoted", name=token</c> lists of HTTP authentication headers (both sides of Digest use it).</summary>
public static class AuthParameters
{
    public static Dictionary<string, string> Parse(string header)
    {
        ArgumentNullException.ThrowIfNull(header);
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < header.Length)
        {
            while (i < header.Length && (header[i] == ',' || char.IsWhiteSpace(header[i])))
            {
                i++;
            }

            var eq = header.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var name = header[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < header.Length && header[i] == '"')
            {
                var end = header.IndexOf('"', i + 1);
                end = end < 0 ? header.Length : end;
                value = header[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = header.IndexOf(',', i);
                end = end < 0 ? header.Length : end;
                value = header[i..end].Trim();
                i = end;
            }

            result[name] = value;
        }

        return result;
    }
}
