using System.ComponentModel;
using System.Reflection;

namespace Wattstream.Server.Composition.Settings;

/// <summary>
/// A node of the tree of known settings that <see cref="SettingsRegistry"/> derives from an options type, as the
/// configuration binder reads it: a value, a list or map of items, or a group of named settings.
/// </summary>
internal abstract class SettingNode(Type? type)
{
    public Type? Type { get; set; } = type;

    public static SettingNode For(Type type, Func<IConfigurationSection, PropertyInfo, string?>? applies, int depth)
    {
        if (depth > 8)
        {
            throw new InvalidOperationException($"Settings of {type.Name} nest deeper than 8 levels; is the type recursive?");
        }

        var plain = Nullable.GetUnderlyingType(type) ?? type;
        if (TypeDescriptor.GetConverter(plain).CanConvertFrom(typeof(string)))
        {
            return new SettingValue(plain); // the binder's rule: what converts from a string is a value
        }

        if (plain.IsArray)
        {
            return new SettingEach(For(plain.GetElementType()!, applies, depth + 1), isList: true);
        }

        if (Generic(plain, typeof(IDictionary<,>)) is { } dictionary)
        {
            return new SettingEach(For(dictionary[1], null, depth + 1), isList: false);
        }

        if (Generic(plain, typeof(IEnumerable<>)) is { } enumerable)
        {
            return new SettingEach(For(enumerable[0], applies, depth + 1), isList: true);
        }

        var group = new SettingGroup(plain) { Applies = applies };
        foreach (var property in plain.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0)
            {
                group.Children[property.Name] = For(property.PropertyType, null, depth + 1);
            }
        }

        return group;
    }

    private static Type[]? Generic(Type type, Type definition) =>
        (type.IsGenericType && type.GetGenericTypeDefinition() == definition ? type : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition))
        ?.GetGenericArguments();
}

/// <summary>A single value (a number, a duration, an enum, a URL, a string).</summary>
internal sealed class SettingValue(Type type) : SettingNode(type)
{
    public Type ValueType { get; } = type;
}

/// <summary>A list (any key is an element, as the binder takes it) or a map (free keys); each item checked alike.</summary>
internal sealed class SettingEach(SettingNode item, bool isList) : SettingNode(null)
{
    public SettingNode Item { get; } = item;

    public bool IsList { get; } = isList;
}

/// <summary>An options object: its settable properties, by name (as configuration keys, case-insensitive).</summary>
internal sealed class SettingGroup(Type? type) : SettingNode(type)
{
    public Dictionary<string, SettingNode> Children { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Func<IConfigurationSection, PropertyInfo, string?>? Applies { get; set; }
}
