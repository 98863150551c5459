namespace Wattstream.Server.Tests;

/// <summary>The commands that read the hub's settings without running it check them as <c>serve</c> does.</summary>
public class CommandVerbTests
{
    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] args) =>
        await WattstreamProcess.RunAsync(
            args, environment: new Dictionary<string, string> { ["Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), $"wattstream-verb-{Guid.NewGuid():N}") });

    [Fact]
    public async Task Token_create_refuses_a_misspelt_setting_with_the_line_config_check_gives()
    {
        const string misspelt = "--Auth:Issuerr=https://hub.example";
        var (exit, output, errors) = await RunAsync("token", "create", "--org", "demo", $"--Auth:HmacSecret={AuthTests.Secret}", misspelt);
        var (_, _, checkErrors) = await RunAsync("config", "check", $"--Auth:HmacSecret={AuthTests.Secret}", misspelt);

        Assert.Equal(1, exit);
        Assert.Equal("", output); // no token printed for a configuration the hub would refuse
        Assert.Contains("wattstream token create: Auth:Issuerr is not a setting; did you mean Auth:Issuer?", errors, StringComparison.Ordinal);
        Assert.Contains("wattstream: Auth:Issuerr is not a setting; did you mean Auth:Issuer?", checkErrors, StringComparison.Ordinal);
        Assert.DoesNotContain(AuthTests.Secret, errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_create_names_a_value_its_setting_cannot_take_instead_of_failing_on_it()
    {
        var (exit, output, errors) = await RunAsync("token", "create", "--org", "demo", $"--Auth:HmacSecret={AuthTests.Secret}", "--Auth:ClockSkew=soon");

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Contains("wattstream token create: Auth:ClockSkew = 'soon'", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_create_with_sound_settings_still_prints_only_the_token()
    {
        var (exit, output, errors) = await RunAsync("token", "create", "--org", "demo", $"--Auth:HmacSecret={AuthTests.Secret}", "--Auth:Issuer=https://hub.example", "--insecure");

        Assert.Equal(0, exit);
        Assert.Equal("", errors);
        Assert.Equal(3, output.Trim().Split('.').Length);
    }
}
