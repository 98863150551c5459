namespace Wattstream.Testing;

/// <summary>Files of the repository the tests read: fixtures, scripts, the end-to-end folder.</summary>
public static class RepoFiles
{
    private static readonly Lazy<string> RootFolder = new(FindRoot);

    /// <summary>The repository's root: the folder above the test binaries that holds Wattstream.slnx.</summary>
    public static string Root => RootFolder.Value;

    /// <summary>A path below the root: <c>RepoFiles.Path("tests", "e2e")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>A device's MQTT fixture: <c>tests/Wattstream.Server.Tests/Fixtures/Mqtt/{format}/{file}</c>.</summary>
    public static string MqttFixture(string format, string file) => Path("tests", "Wattstream.Server.Tests", "Fixtures", "Mqtt", format, file);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Wattstream.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Wattstream.slnx) was not found above the test binaries: " + AppContext.BaseDirectory);
    }
}
