using System.ComponentModel;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace Wattstream.Server.Composition.Settings;

/// <summary>
/// The settings Wattstream knows, by section, each derived from the options type that binds it (public settable
/// properties, nested option objects, lists and maps of them). <see cref="Check"/> names every key under a registered
/// section that nothing binds, with the closest known key, and every value its type cannot take (an enum value
/// outside its set lists the set), so a misspelt setting stops the start instead of being ignored. Keys outside the
/// registered sections (ASP.NET Core's, Kestrel, Logging) belong to their owners and are not looked at.
/// </summary>
public sealed partial class SettingsRegistry
{
    private readonly SettingGroup _root = new(null);
    private readonly Dictionary<string, Type> _sections = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers <paramref name="section"/> (e.g. <c>Storage</c>, <c>Alerts:WebhookDelivery</c>) as bound by <typeparamref name="TOptions"/>.</summary>
    public SettingsRegistry Add<TOptions>(string section) => Add(section, typeof(TOptions));

    /// <summary>
    /// Registers a section bound by <paramref name="type"/>: an options class, a list or array (<c>Sources:N:…</c>), a
    /// dictionary (free keys, each value checked), or a single value.
    /// </summary>
    /// <param name="applies">
    /// For a list of option objects whose settings depend on the element (a source's kind): given an element's
    /// configuration and a property, null when the property applies to it, else why not.
    /// </param>
    public SettingsRegistry Add(string section, Type type, Func<IConfigurationSection, PropertyInfo, string?>? applies = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(section);
        ArgumentNullException.ThrowIfNull(type);
        _sections[section] = type;
        var segments = section.Split(':');
        var parent = _root;
        foreach (var segment in segments[..^1])
        {
            parent = parent.Children.TryGetValue(segment, out var existing) && existing is SettingGroup group
                ? group
                : (SettingGroup)(parent.Children[segment] = new SettingGroup(null));
        }

        var node = SettingNode.For(type, applies, depth: 0);
        if (node is SettingGroup added && parent.Children.TryGetValue(segments[^1], out var present) && present is SettingGroup merged)
        {
            foreach (var (key, child) in added.Children)
            {
                merged.Children.TryAdd(key, child); // Alerts and Alerts:WebhookDelivery, registered in either order
            }

            merged.Type ??= added.Type;
            merged.Applies ??= added.Applies;
        }
        else
        {
            parent.Children[segments[^1]] = node;
        }

        return this;
    }

    /// <summary>True when <paramref name="section"/> is registered as bound by <paramref name="type"/>.</summary>
    public bool Binds(string section, Type type) => _sections.TryGetValue(section, out var bound) && bound == type;

    /// <summary>A key whose value is not shown in messages (it may be a secret).</summary>
    public static bool IsSecret(string key) => SecretKey().IsMatch(key);

    [GeneratedRegex("Password|Secret|Token|Key|ConnectionString", RegexOptions.IgnoreCase)]
    private static partial Regex SecretKey();

    /// <summary>Every problem of <paramref name="configuration"/>'s Wattstream sections, one line each; empty when there is none.</summary>
    public IReadOnlyList<string> Check(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        foreach (var section in configuration.GetChildren())
        {
            if (_root.Children.TryGetValue(section.Key, out var node))
            {
                Visit(section, node, _root.Children.Keys.First(k => string.Equals(k, section.Key, StringComparison.OrdinalIgnoreCase)), isSection: true, configuration, problems);
            }
            else if (NearSection(section, configuration) is { } near)
            {
                problems.Add($"{section.Key} is not a setting{Origin(section.Path, configuration)}; did you mean {near}?");
            }
        }

        return problems;
    }

    // A section name one or two letters off a registered one, written on the command line or in a settings file (not
    // in the environment, where unrelated variables live), is a misspelt section rather than someone else's.
    private string? NearSection(IConfigurationSection section, IConfiguration configuration)
    {
        if (!section.GetChildren().Any() || configuration is not IConfigurationRoot root
            || !root.Providers.Any(p => p is CommandLineConfigurationProvider or FileConfigurationProvider && p.GetChildKeys([], section.Key).Any()))
        {
            return null;
        }

        return _root.Children.Keys
            .Select(k => (Key: k, Distance: SettingKeySuggestions.Distance(k.ToLowerInvariant(), section.Key.ToLowerInvariant())))
            .Where(c => c.Distance <= (c.Key.Length <= 5 ? 1 : 2))
            .OrderBy(c => c.Distance)
            .Select(c => c.Key)
            .FirstOrDefault();
    }

    private static void Visit(IConfigurationSection config, SettingNode node, string path, bool isSection, IConfiguration configuration, List<string> problems)
    {
        switch (node)
        {
            case SettingValue value:
                foreach (var child in config.GetChildren())
                {
                    foreach (var leaf in Leaves(child))
                    {
                        problems.Add($"{Written(path, leaf, config.Path)} is not a setting{Origin(leaf.Path, configuration)}: {path} takes a value, not settings under it.");
                    }
                }

                if (!string.IsNullOrEmpty(config.Value) && ValueProblem(value.ValueType, config.Value) is { } expected)
                {
                    problems.Add(IsSecret(path)
                        ? $"{path}{Origin(config.Path, configuration)} is not {expected} (its value is not shown)."
                        : $"{path} = '{config.Value}'{Origin(config.Path, configuration)} is not {expected}.");
                }

                break;
            case SettingEach each:
                if (!isSection && !string.IsNullOrEmpty(config.Value))
                {
                    problems.Add($"{path}{Origin(config.Path, configuration)} is {(each.IsList ? "a list" : "a map")}, not a value: give {path}:{(each.IsList ? "0" : "NAME")}=….");
                }

                foreach (var child in config.GetChildren())
                {
                    Visit(child, each.Item, $"{path}:{child.Key}", isSection: false, configuration, problems);
                }

                break;
            case SettingGroup group:
                if (!isSection && !string.IsNullOrEmpty(config.Value))
                {
                    problems.Add($"{path}{Origin(config.Path, configuration)} is a group of settings, not a value: give {path}:{group.Children.Keys.First()}=… and the like.");
                }

                foreach (var child in config.GetChildren())
                {
                    if (group.Children.TryGetValue(child.Key, out var known))
                    {
                        var name = group.Children.Keys.First(k => string.Equals(k, child.Key, StringComparison.OrdinalIgnoreCase));
                        if (NotApplying(group, config, name) is { } why)
                        {
                            problems.Add($"{path}:{name}{Origin(child.Path, configuration)} is not a setting {why}.");
                        }
                        else
                        {
                            Visit(child, known, $"{path}:{name}", isSection: false, configuration, problems);
                        }

                        continue;
                    }

                    foreach (var leaf in Leaves(child))
                    {
                        var written = Written(path, leaf, config.Path);
                        var relative = leaf.Path[(config.Path.Length + 1)..];
                        problems.Add(SettingKeySuggestions.Closest(Flatten(group, "", depth: 0).Where(key => Applies(group, config, key)).ToArray(), relative) is { } closest
                            ? $"{written} is not a setting{Origin(leaf.Path, configuration)}; did you mean {path}:{closest}?"
                            : $"{written} is not a setting{Origin(leaf.Path, configuration)}; {path} has {string.Join(", ", group.Children.Keys.Where(k => Applies(group, config, k)))}.");
                    }
                }

                break;
        }
    }

    // Why a known setting does not apply to this element (a source of another kind), or null.
    private static string? NotApplying(SettingGroup group, IConfigurationSection config, string name) =>
        group.Applies is { } applies && group.Type?.GetProperty(name) is { } property ? applies(config, property) : null;

    private static bool Applies(SettingGroup group, IConfigurationSection config, string candidate) =>
        NotApplying(group, config, candidate.Split(':')[0]) is null;

    // The key as the operator wrote it below the part that is known (whose canonical spelling is shown).
    private static string Written(string path, IConfigurationSection leaf, string knownPath) => $"{path}{leaf.Path[knownPath.Length..]}";

    // The section itself when it holds a value, else every key under it that holds one.
    private static IEnumerable<IConfigurationSection> Leaves(IConfigurationSection section)
    {
        var children = section.GetChildren().ToArray();
        return children.Length == 0 ? [section] : children.SelectMany(Leaves);
    }

    // Where a key came from, when that is not the command line or a settings file: the variable's own spelling.
    private static string Origin(string key, IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return "";
        }

        var provider = root.Providers.LastOrDefault(p => p.TryGet(key, out _) || p.GetChildKeys([], key).Any());
        return provider is EnvironmentVariablesConfigurationProvider ? $" (environment variable {key.Replace(":", "__", StringComparison.Ordinal)})" : "";
    }

    // What the binder would fail to convert (it throws for a plain setting, and silently drops a list element).
    private static string? ValueProblem(Type type, string value)
    {
        try
        {
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException or InvalidCastException)
        {
            return type switch
            {
                _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))}",
                _ when type == typeof(bool) => "true or false",
                _ when type == typeof(TimeSpan) => "a duration such as 00:00:30 (hh:mm:ss) or 1.00:00:00 (a day)",
                _ when type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(byte) => "a whole number",
                _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number (with a decimal point, such as 47.5)",
                _ => $"a {type.Name}",
            };
        }
    }

    private static IEnumerable<string> Flatten(SettingGroup group, string prefix, int depth)
    {
        foreach (var (key, child) in group.Children)
        {
            yield return prefix + key;
            if (child is SettingGroup nested && depth < 3)
            {
                foreach (var inner in Flatten(nested, $"{prefix}{key}:", depth + 1))
                {
                    yield return inner;
                }
            }
        }
    }
}
