using System.CommandLine;
using Microsoft.Extensions.Options;
using Wattstream.Emulators.DerSim;
using Wattstream.Emulators.Faults;
using Wattstream.Emulators.Whatwatt;
using Wattstream.Storage;
using Wattstream.Storage.Sqlite;

namespace Wattstream.Server;

/// <summary>
/// The executable's commands: <c>serve</c> (also with none), the hub (every other argument goes to ASP.NET Core:
/// <c>--urls</c>, <c>--Section:Key=value</c>); <c>emulate whatwatt</c> and <c>emulate dersim</c> run a device emulator.
/// </summary>
public static class CommandLine
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Wattstream: a real-time energy telemetry hub. Without a command it runs the hub; options such as --urls and --Simulation:Seed=42 go to the host.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.SetAction((result, cancellationToken) => ServeAsync([.. result.UnmatchedTokens], root, cancellationToken));

        var serve = new Command("serve", "Run the hub (the default). Options such as --urls and --Simulation:Seed=42 go to the host.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        serve.SetAction((result, cancellationToken) => ServeAsync([.. result.UnmatchedTokens], root, cancellationToken));
        root.Subcommands.Add(serve);

        var config = new Command("config", "Work with the configuration.");
        var check = new Command("check", "Load the configuration exactly as serve would and check every section; exit 1 with each problem, 0 when it is sound.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        check.SetAction(async (result, _) =>
        {
            var problems = CheckConfiguration([.. result.UnmatchedTokens], out var app);
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    await Console.Error.WriteLineAsync($"wattstream: {problem}");
                }

                return 1;
            }

            await using (app)
            {
                Console.WriteLine($"The configuration is sound. The hub would listen on {string.Join(", ", Access.Binding.Urls(app!.Configuration))}.");
            }

            return 0;
        });
        config.Subcommands.Add(check);
        root.Subcommands.Add(config);

        var token = new Command("token", "Work with access tokens (docs/security.md).");
        token.Subcommands.Add(TokenCreateCommand());
        root.Subcommands.Add(token);

        root.Subcommands.Add(Tail.TailCommand.Create());
        root.Subcommands.Add(StoreCommand());

        var emulate = new Command("emulate", "Run a device emulator: a real server that keeps the device's rules.");
        emulate.Subcommands.Add(WhatwattCommand());
        emulate.Subcommands.Add(DerSimCommand());
        root.Subcommands.Add(emulate);

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>
    /// Runs the hub with the host's arguments. A word that is not a setting (<c>wattstream token create</c>) is an
    /// unknown command, and a setting that fails validation stops the start with its message: both exit non-zero
    /// without starting a server and without a stack trace.
    /// </summary>
    private static async Task<int> ServeAsync(string[] hostArgs, RootCommand root, CancellationToken cancellationToken)
    {
        if (UnknownCommand(hostArgs) is { } word)
        {
            var commands = string.Join(", ", root.Subcommands.Select(c => c.Name));
            await Console.Error.WriteLineAsync($"wattstream: unknown command '{word}'. Commands: {commands}. Settings look like --Section:Key=value; see 'wattstream --help'.");
            return 2;
        }

        var problems = CheckConfiguration(hostArgs, out var app);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"wattstream: cannot start: {problem}");
            }

            return 1;
        }

        Server.Storage.FileSizeSignal.Ignore();
        if (await OpenStoreAsync(app!, cancellationToken) is { } storeProblem)
        {
            await Console.Error.WriteLineAsync($"wattstream: cannot start: {storeProblem}");
            await app!.DisposeAsync();
            return 1;
        }

        try
        {
            await app!.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"wattstream: cannot start: {e.Message}"); // an address in use, say
            return 1;
        }
        catch (OptionsValidationException e)
        {
            // Found once Kestrel had bound: an address beyond loopback without tokens (Access/BoundAddressCheck).
            foreach (var problem in Describe(e))
            {
                await Console.Error.WriteLineAsync($"wattstream: cannot start: {problem}");
            }

            await app!.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            return 1;
        }

        await app.WaitForShutdownAsync(cancellationToken);
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>
    /// Builds the host as <c>serve</c> does and checks its settings before anything starts: keys nothing binds and
    /// values their type cannot take (<see cref="Composition.Settings.WattstreamSettings"/>, while building), every
    /// ValidateOnStart option, then every hosted service (their constructors bind their settings). Each problem is a
    /// line naming the setting; none is a stack trace.
    /// </summary>
    private static List<string> CheckConfiguration(string[] hostArgs, out WebApplication? app)
    {
        app = null;
        hostArgs = [.. hostArgs.Select(a => string.Equals(a, "--insecure", StringComparison.OrdinalIgnoreCase) ? $"--{Access.Binding.InsecureSetting}=true" : a)]; // the flag form
        try
        {
            s_configuration = new ConfigurationBuilder().AddCommandLine(hostArgs).AddEnvironmentVariables().Build(); // for naming bad values
            app = WattstreamApp.Build(hostArgs);
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

    /// <summary>
    /// <c>store check</c> (the full <c>integrity_check</c>: exit 0 sound, 1 damaged) and <c>store backup PATH</c> (an online
    /// copy while the hub runs), for the store the settings name (the same settings as serve).
    /// </summary>
    private static Command StoreCommand()
    {
        var store = new Command("store", "Work with the history store (SQLite).");
        var check = new Command("check", "Run SQLite's full integrity_check on the store (read-only; the hub may run): exit 0 when sound, 1 when damaged.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        check.SetAction(async (result, _) =>
        {
            if (await SqliteStorePathAsync("check", [.. result.UnmatchedTokens]) is not { } path)
            {
                return 2;
            }

            try
            {
                var problems = SqliteReadingStore.RunCheck(path);
                if (problems.Count == 0)
                {
                    Console.WriteLine($"{path} is sound (integrity_check: ok).");
                    return 0;
                }

                await Console.Error.WriteLineAsync($"wattstream store check: {path} is damaged ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): restore it from a backup, or move it aside (with its -wal and -shm) to start with an empty store.");
                foreach (var problem in problems.Take(20))
                {
                    await Console.Error.WriteLineAsync($"  {problem}");
                }

                return 1;
            }
            catch (Microsoft.Data.Sqlite.SqliteException e)
            {
                await Console.Error.WriteLineAsync($"wattstream store check: cannot check {path}: {e.Message}");
                return 1;
            }
        });
        store.Subcommands.Add(check);

        var destination = new Argument<string>("PATH") { Description = "The file to write the copy to (it must not exist)." };
        var backup = new Command("backup", "Copy the store to PATH with SQLite's online backup, consistent while the hub runs and writes; the copy is checked.")
        {
            destination,
        };
        backup.TreatUnmatchedTokensAsErrors = false;
        backup.SetAction(async (result, _) =>
        {
            if (await SqliteStorePathAsync("backup", [.. result.UnmatchedTokens]) is not { } path)
            {
                return 2;
            }

            var target = Path.GetFullPath(result.GetValue(destination)!);
            if (File.Exists(target))
            {
                await Console.Error.WriteLineAsync($"wattstream store backup: {target} exists; give a new file, or remove it first.");
                return 1;
            }

            try
            {
                var bytes = SqliteReadingStore.Backup(path, target);
                Console.WriteLine($"Copied {path} to {target} ({bytes} bytes, checked).");
                return 0;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                await Console.Error.WriteLineAsync($"wattstream store backup: cannot copy {path} to {target}: {e.Message}");
                return 1;
            }
        });
        store.Subcommands.Add(backup);
        return store;
    }

    // The SQLite file the settings name, when it exists; otherwise says why not (PostgreSQL has its own tools).
    private static async Task<string?> SqliteStorePathAsync(string verb, string[] settings)
    {
        var configuration = WebApplication.CreateBuilder(new WebApplicationOptions { Args = settings, ContentRootPath = AppContext.BaseDirectory }).Configuration;
        var options = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        if (!string.IsNullOrEmpty(options.PostgresConnectionString))
        {
            var advice = verb == "backup" ? "use pg_dump (or the server's own backups)" : "use pg_amcheck, or the server's own checks";
            await Console.Error.WriteLineAsync($"wattstream store {verb}: the store is PostgreSQL (Storage:PostgresConnectionString): {advice}.");
            return null;
        }

        var path = options.ResolveDatabasePath();
        if (!File.Exists(path))
        {
            await Console.Error.WriteLineAsync($"wattstream store {verb}: there is no database at {path} (Storage:DataDirectory).");
            return null;
        }

        return path;
    }

    // The first bare word that is not the value of a preceding "--key value" option.
    private static string? UnknownCommand(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
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

    // A configuration error's message names the setting; its inner exceptions say what was wrong with the value. Each
    // problem of a section that has several (unknown keys, failed rules) is a line of its own.
    private static IEnumerable<string> Describe(Exception e)
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
    private static string Setting(Type optionsType, string failure)
    {
        var match = System.Text.RegularExpressions.Regex.Match(failure, @"members: '(?<member>[^']+)' with the error: '(?<error>.*)'\.?$");
        if (!match.Success || optionsType.GetField("SectionName")?.GetRawConstantValue() is not string section)
        {
            return failure;
        }

        var key = $"{section}:{match.Groups["member"].Value}";
        var value = Composition.Settings.SettingsRegistry.IsSecret(key) ? null : s_configuration?[key];
        return value is null ? $"{key}: {match.Groups["error"].Value}" : $"{key} = '{value}': {match.Groups["error"].Value}";
    }

    private static IConfiguration? s_configuration;

    /// <summary>
    /// <c>token create</c>: a token for the hub as configured (the same settings as serve, so <c>--Auth:HmacSecret=…</c>
    /// and <c>Auth__HmacSecret</c> work), printed alone on standard output for scripts.
    /// </summary>
    private static Command TokenCreateCommand()
    {
        var orgs = new Option<string[]>("--org") { Description = "The org(s) the token may read or push to: repeat or comma-separate; * for every org.", Required = true };
        var sites = new Option<string?>("--sites") { Description = "Comma-separated sites within those orgs; * or absent for every site." };
        var scopes = new Option<string>("--scopes") { Description = "Comma- or space-separated: read, publish, admin.", DefaultValueFactory = _ => "read" };
        var ttl = new Option<string>("--ttl") { Description = "Lifetime: 90s, 30m, 12h, 7d (at most 366d).", DefaultValueFactory = _ => "1h" };
        var subject = new Option<string>("--subject") { Description = "Who the token is for (its sub claim; shown in logs).", DefaultValueFactory = _ => "wattstream-cli" };
        var signingKey = new Option<string?>("--signing-key") { Description = "An EC P-256 private key (PEM) to sign with ES256; without it, Auth:HmacSecret signs (HS256)." };
        var command = new Command("create", "Print a signed token for the hub as configured.")
        {
            orgs, sites, scopes, ttl, subject, signingKey,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, _) =>
        {
            var configuration = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. result.UnmatchedTokens], ContentRootPath = AppContext.BaseDirectory }).Configuration;
            var auth = configuration.GetSection(Access.AuthOptions.SectionName).Get<Access.AuthOptions>() ?? new Access.AuthOptions();
            static string[] Split(string? value) => value?.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
            var orgList = result.GetValue(orgs)!.SelectMany(Split).Distinct(StringComparer.Ordinal).ToArray();
            var siteList = Split(result.GetValue(sites)).Where(s => s != "*").Distinct(StringComparer.Ordinal).ToArray();
            var scopeList = Split(result.GetValue(scopes)).Distinct(StringComparer.Ordinal).ToArray();
            var problems = new List<string>();
            if (orgList.Length == 0 || orgList.Any(o => o != "*" && !Telemetry.Subjects.IsValidToken(o)))
            {
                problems.Add($"--org: give one or more org ids ({Telemetry.Subjects.TokenRule}) or *");
            }

            if (siteList.Any(s => !Telemetry.Subjects.IsValidToken(s)))
            {
                problems.Add($"--sites: site ids are comma-separated, each {Telemetry.Subjects.TokenRule}");
            }

            if (scopeList.Length == 0 || scopeList.Any(s => s is not ("read" or "publish" or "admin")))
            {
                problems.Add("--scopes: one or more of read, publish, admin");
            }

            if (!Access.TokenIssuer.TryParseLifetime(result.GetValue(ttl), out var lifetime))
            {
                problems.Add("--ttl: a lifetime such as 90s, 30m, 12h or 7d");
            }

            if (problems.Count == 0)
            {
                try
                {
                    var credentials = Access.SigningKeys.ForSigning(auth, result.GetValue(signingKey));
                    Console.WriteLine(Access.TokenIssuer.Create(auth, credentials, result.GetValue(subject)!, orgList, siteList, scopeList, lifetime, TimeProvider.System));
                    return 0;
                }
                catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
                {
                    problems.Add(e.Message);
                }
            }

            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"wattstream token create: {problem}");
            }

            return 1;
        });
        return command;
    }

    private static Option<string?> FaultsOption() => new("--faults")
    {
        Description = $"Faults to inject, comma-separated: {string.Join(", ", FaultKinds.All.Select(f => f.ToOptionName()))}, or all.",
    };

    private static Option<int> FaultEveryOption() => new("--fault-every")
    {
        Description = "Replace every N-th event by the next stream fault.",
        DefaultValueFactory = _ => 3,
    };

    private static Command WhatwattCommand()
    {
        var port = new Option<int>("--port") { Description = "Port to listen on (127.0.0.1).", DefaultValueFactory = _ => 8080 };
        var password = new Option<string?>("--password")
        {
            Description = "Web UI password; enables authentication. Also read from WHATWATT_PASSWORD.",
        };
        var auth = new Option<DeviceAuth>("--auth") { Description = "digest (firmware 1.10+) or basic (older).", DefaultValueFactory = _ => DeviceAuth.Digest };
        var interval = new Option<double>("--interval") { Description = "Seconds between live events.", DefaultValueFactory = _ => 1.0 };
        var faults = FaultsOption();
        var faultEvery = FaultEveryOption();
        var wholeSeconds = new Option<bool>("--whole-seconds") { Description = "Report just after whole seconds of the clock, so a reading's whole-second time is its send time (for timing end to end)." };
        var devices = new Option<int>("-N", "--devices") { Description = "How many devices, one per port from --port up (a fleet: one server, every device with its own meter, live client and authentication; no faults).", DefaultValueFactory = _ => 1 };
        var spread = new Option<bool>("--spread") { Description = "With --whole-seconds and a fleet: device i sends i × 900 ms / N after each whole second, as unsynchronised meters would (its clock still says the whole second)." };
        var command = new Command(Telemetry.Formats.WhatwattLive.FormatName, "Emulate a whatwatt Go smart-meter adapter: /api/v1/live (one client at a time), /api/v1/report, /api/v1/system, /api/v1/settings.")
        {
            port, password, auth, interval, faults, faultEvery, devices, wholeSeconds, spread,
        };
        command.Validators.Add(result =>
        {
            // In a validator an option left out reads as 0, not its default (so the README's command was refused): an
            // implicit --devices is the one device.
            var count = result.GetResult(devices) is { Implicit: false } given ? given.GetValueOrDefault<int>() : 1;
            if (count is < 1 or > 10_000)
            {
                result.AddError("--devices must be between 1 and 10000.");
            }
            else if (result.GetValue(spread) && !result.GetValue(wholeSeconds))
            {
                result.AddError("--spread spreads whole-second reports: it needs --whole-seconds.");
            }
            else if (count > 1 && result.GetResult(faults) is { Implicit: false })
            {
                result.AddError("--faults is for one device; a fleet (--devices) serves clean streams.");
            }
        });
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new WhatwattEmulatorOptions
            {
                Port = result.GetValue(port),
                Password = result.GetValue(password) ?? Environment.GetEnvironmentVariable("WHATWATT_PASSWORD"),
                Auth = result.GetValue(auth),
                Interval = TimeSpan.FromSeconds(result.GetValue(interval)),
                Faults = FaultKinds.Parse(result.GetValue(faults)),
                FaultEvery = result.GetValue(faultEvery),
                WholeSeconds = result.GetValue(wholeSeconds),
            };
            var authText = options.Password is null ? "none" : options.Auth.ToString().ToLowerInvariant();
            if (result.GetValue(devices) > 1)
            {
                await using var fleet = WhatwattFleet.Create(options, result.GetValue(devices), logging => logging.AddSimpleConsole(), result.GetValue(spread));
                await fleet.StartAsync(cancellationToken);
                Console.WriteLine($"whatwatt fleet of {fleet.Count} devices on {fleet.BaseAddressOf(0)} … {fleet.BaseAddressOf(fleet.Count - 1)}; auth: {authText}");
                await WaitForShutdownAsync(cancellationToken);
                return 0;
            }

            await using var emulator = WhatwattEmulator.Create(options, logging => logging.AddSimpleConsole());
            await emulator.StartAsync(cancellationToken);
            Console.WriteLine($"whatwatt emulator {options.HostName} (meter {emulator.MeterNumber}) on {emulator.BaseAddress}; auth: {authText}");
            Console.WriteLine($"  curl -N {(options.Password is null ? "" : "--anyauth -u ':PASSWORD' ")}{emulator.BaseAddress}api/v1/live");
            await WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    private static Command DerSimCommand()
    {
        var port = new Option<int>("--port") { Description = "Port to listen on (127.0.0.1).", DefaultValueFactory = _ => 8111 };
        var devices = new Option<int>("-N", "--devices") { Description = "How many devices.", DefaultValueFactory = _ => 1 };
        var tick = new Option<double>("--tick") { Description = "Seconds per simulator tick.", DefaultValueFactory = _ => 1.5 };
        var faults = FaultsOption();
        var faultEvery = FaultEveryOption();
        var command = new Command(Telemetry.Formats.DerSimOverview.FormatName, "Emulate the DER simulator's telemetry: /api/dersim/overview and the WebSocket /api/dersim/ws/telemetry.")
        {
            port, devices, tick, faults, faultEvery,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new DerSimEmulatorOptions
            {
                Port = result.GetValue(port),
                Devices = Math.Max(1, result.GetValue(devices)),
                Tick = TimeSpan.FromSeconds(result.GetValue(tick)),
                Faults = FaultKinds.Parse(result.GetValue(faults)),
                FaultEvery = result.GetValue(faultEvery),
            };
            await using var emulator = DerSimEmulator.Create(options, logging => logging.AddSimpleConsole());
            await emulator.StartAsync(cancellationToken);
            Console.WriteLine($"DERSim emulator with {emulator.DeviceCount} device(s) on {emulator.BaseAddress}");
            Console.WriteLine($"  ws://{emulator.BaseAddress.Authority}/api/dersim/ws/telemetry");
            await WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    // Until Ctrl+C, SIGTERM or the command line's own cancellation. A completion source, not a disposable token source:
    // System.CommandLine handles SIGTERM too, and a handler still running after this returned must find nothing disposed.
    private static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = cancellationToken.Register(() => stopped.TrySetResult());
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stopped.TrySetResult();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stopped.TrySetResult();
            });
            await stopped.Task;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
