namespace Wattstream.Mqtt.Broker;

/// <summary>
/// The topics one device may publish and subscribe under: a list of topic filters. A publish is allowed when its topic
/// matches one; a subscription when every topic its filter could match does (it lies inside one).
/// </summary>
public sealed class TopicScope
{
    private readonly string[][] _filters;

    public TopicScope(IEnumerable<string> filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        Filters = [.. filters.Distinct(StringComparer.Ordinal)];
        _filters = [.. Filters.Select(f => f.Split('/'))];
    }

    public IReadOnlyList<string> Filters { get; }

    /// <summary>
    /// A device's default scope: each of its format's filters with the first <c>+</c> (the level that names the device
    /// in every format) set to the device's own level and everything below it; a filter without one as it is.
    /// </summary>
    public static TopicScope Default(IReadOnlyList<string> formatFilters, string deviceLevel)
    {
        ArgumentNullException.ThrowIfNull(formatFilters);
        return new TopicScope(formatFilters.Select(filter =>
        {
            var levels = filter.Split('/');
            var device = Array.IndexOf(levels, "+");
            return device < 0 ? filter : string.Join('/', [.. levels[..device], deviceLevel, "#"]);
        }));
    }

    /// <summary>True when a publish on <paramref name="topic"/> (a topic name, no wildcards) lies in the scope.</summary>
    public bool Allows(string topic)
    {
        if (string.IsNullOrEmpty(topic) || topic.StartsWith('$') || topic.Contains('+', StringComparison.Ordinal) || topic.Contains('#', StringComparison.Ordinal))
        {
            return false;
        }

        var levels = topic.Split('/');
        return _filters.Any(f => Contains(f, levels));
    }

    /// <summary>True when every topic <paramref name="filter"/> can match lies in the scope.</summary>
    public bool Contains(string filter) =>
        IsFilter(filter) && _filters.Any(f => Contains(f, filter.Split('/')));

    // Whether scope filter s covers filter (or topic) f: level by level, a literal of s must be met by the same
    // literal, '+' by anything but '#', and '#' covers the rest.
    private static bool Contains(string[] s, string[] f)
    {
        for (var i = 0; i < f.Length; i++)
        {
            if (i >= s.Length)
            {
                return false;
            }

            if (s[i] == "#")
            {
                return true;
            }

            if (f[i] == "#" || (s[i] != "+" && f[i] != s[i]))
            {
                return false;
            }
        }

        // 'a/b/#' also covers 'a/b' itself.
        return s.Length == f.Length || (s.Length == f.Length + 1 && s[^1] == "#");
    }

    /// <summary>One topic level of a name: not empty, no '/', no wildcards, not starting with '$'.</summary>
    public static bool IsLevel(string level) =>
        !string.IsNullOrEmpty(level) && !level.StartsWith('$') && level.IndexOfAny(['/', '+', '#', '\0']) < 0;

    /// <summary>An MQTT topic filter: '#' only as the last level, '+' only as a whole level, not starting with '$'.</summary>
    public static bool IsFilter(string? filter)
    {
        if (string.IsNullOrEmpty(filter) || filter.StartsWith('$') || filter.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        var levels = filter.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if ((level.Contains('#', StringComparison.Ordinal) && (level != "#" || i != levels.Length - 1))
                || (level.Contains('+', StringComparison.Ordinal) && level != "+"))
            {
                return false;
            }
        }

        return true;
    }
}
