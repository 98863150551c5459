using System.Text.RegularExpressions;

namespace Wattstream.Server.Composition.Settings;

/// <summary>Which known setting an operator meant by a key that is not one: the nearest spelling, else the same words or their synonyms.</summary>
internal static partial class SettingKeySuggestions
{
    // The known key nearest to what was written: nearly the same letters (a typo, a missing separator such as
    // Auth:DevicePassword), else the same words or their usual synonyms (Storage:Path for Storage:DataDirectory).
    public static string? Closest(IReadOnlyList<string> candidates, string written)
    {
        var plain = Plain(written);
        var typo = candidates
            .Select(c => (Key: c, Distance: Distance(plain, Plain(c))))
            .Where(c => c.Distance <= Math.Clamp(plain.Length / 4, 1, 3))
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        if (typo.Key is not null)
        {
            return typo.Key;
        }

        // Each written word costs 0 when the key has it, 1 when nearly, 2 for a synonym; then the shorter key wins.
        var words = Words(written).ToArray();
        return candidates
            .Select(c => (Key: c, Words: Words(c).ToArray()))
            .Select(c => (c.Key, c.Words.Length, Costs: words.Select(w => c.Words.Select(k => WordCost(w, k)).DefaultIfEmpty(int.MaxValue).Min()).ToArray()))
            .Where(c => c.Costs.Length > 0 && c.Costs.All(cost => cost < int.MaxValue))
            .OrderBy(c => c.Costs.Sum())
            .ThenBy(c => c.Length)
            .Select(c => c.Key)
            .FirstOrDefault();
    }

    private static string Plain(string key) => new([.. key.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);

    private static IEnumerable<string> Words(string key) =>
        WordPattern().Matches(key).Select(m => m.Value.ToLowerInvariant());

    [GeneratedRegex("[A-Z]{2,}(?=[A-Z][a-z]|$|[^A-Za-z])|[A-Z]?[a-z]+|[0-9]+")]
    private static partial Regex WordPattern();

    private static readonly string[][] Synonyms =
    [
        ["path", "directory", "dir", "folder", "location"],
        ["password", "pass", "passwd", "pwd", "secret"],
        ["url", "uri", "address", "endpoint", "server", "host"],
        ["user", "username", "login"],
        ["db", "database", "store", "storage", "postgres", "postgresql"],
        ["kind", "type"],
        ["max", "maximum", "limit"],
        ["interval", "period", "every"],
    ];

    private static int WordCost(string written, string known) =>
        written == known ? 0
        : written.Length >= 4 && Distance(written, known) <= 1 ? 1
        : Synonyms.Any(group => group.Contains(written) && group.Contains(known)) ? 2
        : int.MaxValue;

    // Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours.
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
