using System.Text.Json.Nodes;

namespace Wattstream.Telemetry.Tests;

internal static class JsonAssert
{
    /// <summary>Same members with the same values, in any order.</summary>
    public static void Equivalent(string expected, string actual)
    {
        var e = JsonNode.Parse(expected);
        var a = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(e, a), $"expected {expected}\n  actual {actual}");
    }

    /// <summary>Same members in the same order, to the byte.</summary>
    public static void Identical(string expected, string actual) => Assert.Equal(expected, actual);
}
