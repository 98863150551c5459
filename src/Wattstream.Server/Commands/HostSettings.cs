using System.CommandLine;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Wattstream.Server.Composition.Settings;

namespace Wattstream.Server.Commands;

/// <summary>
/// The settings a command passes on to the host: every argument System.CommandLine did not match (<c>--urls</c>,
/// <c>--Section:Key=value</c>, the flag <c>--insecure</c>), read as <c>serve</c> reads them, and their checks. One per
/// invocation: it keeps the arguments as given, to name a bad value in a problem.
/// </summary>
internal sealed partial class HostSettings
{
    private readonly IConfiguration _given;

    private HostSettings(string[] arguments)
    {
        Arguments = arguments;
        _given = new ConfigurationBuilder().AddCommandLine(arguments).AddEnvironmentVariables().Build();
    }

    /// <summary>The host's arguments, the flag form of <c>--insecure</c> written as its setting.</summary>
    public string[] Arguments { get; }

    public static HostSettings From(ParseResult result) => new([.. result.UnmatchedTokens.Select(a =>
        string.Equals(a, "--insecure", StringComparison.OrdinalIgnoreCase) ? $"--{Access.Binding.InsecureSetting}=true" : a)]);

    /// <summary>
    /// The configuration as the hub reads it (its settings file beside the binary, the environment, these arguments),
    /// without building the hub: for commands that read settings but run no hub.
    /// </summary>
    public IConfiguration Read() =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = Arguments, ContentRootPath = AppContext.BaseDirectory }).Configuration;

    /// <summary>
    /// <see cref="Read()"/>, and every problem <see cref="WattstreamSettings.Registry"/> finds in it as it does when the
    /// hub is built (<see cref="WattstreamApp.Build"/>): keys nothing binds, values their type cannot take.
    /// </summary>
    public IConfiguration Read(out IReadOnlyList<string> problems)
    {
        var configuration = Read();
        problems = WattstreamSettings.Registry.Check(configuration);
        return configuration;
    }

    /// <summary>
    /// Builds the host as <c>serve</c> does and checks its settings before anything starts: keys nothing binds and
    /// values their type cannot take (<see cref="WattstreamSettings"/>, while building), every ValidateOnStart option,
    /// then every hosted service (their constructors bind their settings). Each problem is a line naming the setting;
    /// none is a stack trace.
    /// </summary>
    public List<string> Check(out WebApplication? app)
    {
        app = null;
        try
        {
            app = WattstreamApp.Build(Arguments);
            app.Services.GetService<IStartupValidator>()?.Validate();
            _ = app.Services.GetServices<IHostedService>().ToArray();
            return [];
        }
        catch (Exception e) when (e is OptionsValidationException or InvalidOperationException or ArgumentException or FormatException or AggregateException)
        {
            return e is AggregateException all ? [.. all.InnerExceptions.SelectMany(Describe)] : [.. Describe(e)];
        }
    }

    /// <summary>
    /// A configuration error's message names the setting; its inner exceptions say what was wrong with the value. Each
    /// problem of a section that has several (unknown keys, failed rules) is a line of its own.
    /// </summary>
    public IEnumerable<string> Describe(Exception e)
    {
        if (e is OptionsValidationException { InnerException: null } validation)
        {
            return validation.Failures.Select(f => Setting(validation.OptionsType, f));
        }

        var messages = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
        {
            messages.Add(current is OptionsValidationException inner ? string.Join("; ", inner.Failures.Select(f => Setting(inner.OptionsType, f))) : current.Message);
        }

        return [string.Join(" — ", messages.Distinct())];
    }

    // "DataAnnotation validation failed for 'HubOptions' members: 'ReplayCapacity' with the error: '…'." names the type;
    // an operator wants the setting, the value given (unless it is a secret) and the rule: "Hub:ReplayCapacity = '1': …".
    private string Setting(Type optionsType, string failure)
    {
        var match = ValidationFailure().Match(failure);
        if (!match.Success || optionsType.GetField("SectionName")?.GetRawConstantValue() is not string section)
        {
            return failure;
        }

        var key = $"{section}:{match.Groups["member"].Value}";
        var value = SettingsRegistry.IsSecret(key) ? null : WithoutCredentials(_given[key]);
        return value is null ? $"{key}: {match.Groups["error"].Value}" : $"{key} = '{value}': {match.Groups["error"].Value}";
    }

    // A URL refused for the credentials in it is named without them.
    private static string? WithoutCredentials(string? value) =>
        value is not null && Uri.TryCreate(value, UriKind.Absolute, out var url) && !string.IsNullOrEmpty(url.UserInfo)
            ? value.Replace(url.UserInfo + "@", "***@", StringComparison.Ordinal)
            : value;

    [GeneratedRegex(@"members: '(?<member>[^']+)' with the error: '(?<error>.*)'\.?$")]
    private static partial Regex ValidationFailure();
}
