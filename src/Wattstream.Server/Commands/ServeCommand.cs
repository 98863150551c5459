using System.CommandLine;
using Microsoft.Extensions.Options;
using Wattstream.Server.Storage;
using Wattstream.Storage;

namespace Wattstream.Server.Commands;

/// <summary>
/// <c>serve</c> (also with no command): runs the hub with the host's arguments. A word that is not a setting
/// (<c>wattstream tokens create</c>) is an unknown command, and a setting that fails validation stops the start with
/// its message: both exit non-zero without starting a server and without a stack trace.
/// </summary>
internal sealed class ServeCommand : Command
{
    public ServeCommand()
        : base("serve", "Run the hub (the default). Options such as --urls and --Simulation:Seed=42 go to the host.")
    {
        TreatUnmatchedTokensAsErrors = false;
        SetAction(RunAsync);
    }

    /// <summary>Runs the hub with the arguments <paramref name="result"/> did not match (this command's and the root's action).</summary>
    public static async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (UnknownCommand(result.UnmatchedTokens) is { } word)
        {
            var commands = string.Join(", ", result.RootCommandResult.Command.Subcommands.Select(c => c.Name));
            await Console.Error.WriteLineAsync($"wattstream: unknown command '{word}'. Commands: {commands}. Settings look like --Section:Key=value; see 'wattstream --help'.");
            return 2;
        }

        var settings = HostSettings.From(result);
        var problems = settings.Check(out var app);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"wattstream: cannot start: {problem}");
            }

            return 1;
        }

        // One hub per data directory, in every storage mode: besides SQLite's file it holds the API keys and the
        // data-protection keys, and a PostgreSQL store keeps each directory's event-id epoch. Held until the process ends.
        using var dataLock = DataDirectoryLock.TryAcquire(app!.Services.GetRequiredService<IOptions<StorageOptions>>().Value.ResolveDataDirectory(), out var heldElsewhere, out var unusable);
        if (heldElsewhere is not null)
        {
            await Console.Error.WriteLineAsync($"wattstream: cannot start: {heldElsewhere}");
            await app.DisposeAsync();
            return 1;
        }

        FileSizeSignal.Ignore();
        // A folder the lock could not use is named by the store's own checks first (they say what is wrong with it).
        if ((await OpenStoreAsync(app, cancellationToken) ?? unusable) is { } storeProblem)
        {
            await Console.Error.WriteLineAsync($"wattstream: cannot start: {storeProblem}");
            await app.DisposeAsync();
            return 1;
        }

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"wattstream: cannot start: {e.Message}"); // an address in use, say
            return 1;
        }
        catch (OptionsValidationException e)
        {
            // Found once Kestrel had bound: an address beyond loopback without tokens (Access/BoundAddressCheck).
            foreach (var problem in settings.Describe(e))
            {
                await Console.Error.WriteLineAsync($"wattstream: cannot start: {problem}");
            }

            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            return 1;
        }

        await app.WaitForShutdownAsync(cancellationToken);
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>
    /// Opens (checks, migrates) the history store before the host starts, retrying while it is away for
    /// <c>Storage:StartTimeout</c>: a store that cannot be used is one line here (naming the file or server and what to
    /// do), not a failed host start that logs the exception and then throws it again.
    /// </summary>
    private static async Task<string?> OpenStoreAsync(WebApplication app, CancellationToken cancellationToken)
    {
        if (app.Services.GetService<IReadingStore>() is not { } store)
        {
            return null;
        }

        try
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StoreStartup));
            await StoreStartup.OpenAsync(store, app.Services.GetRequiredService<IOptions<StorageOptions>>().Value, logger, cancellationToken);
            return null;
        }
        catch (StoreStartException e)
        {
            return e.Message.ReplaceLineEndings(" "); // one line, whatever a driver's message held
        }
    }

    // The first bare word that is not the value of a preceding "--key value" option.
    private static string? UnknownCommand(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith('-'))
            {
                continue;
            }

            var previous = i > 0 ? args[i - 1] : null;
            var isValue = previous is not null && previous.StartsWith('-') && !previous.Contains('=', StringComparison.Ordinal);
            if (!isValue)
            {
                return arg;
            }
        }

        return null;
    }
}
