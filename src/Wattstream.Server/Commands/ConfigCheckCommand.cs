using System.CommandLine;

namespace Wattstream.Server.Commands;

/// <summary><c>config check</c>: the settings as <c>serve</c> would load them, checked without starting anything.</summary>
internal sealed class ConfigCheckCommand : Command
{
    public ConfigCheckCommand()
        : base("check", "Load the configuration exactly as serve would and check every section; exit 1 with each problem, 0 when it is sound.")
    {
        TreatUnmatchedTokensAsErrors = false;
        SetAction(async (result, _) =>
        {
            var problems = HostSettings.From(result).Check(out var app);
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
    }
}
