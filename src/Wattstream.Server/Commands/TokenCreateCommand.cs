using System.CommandLine;
using Wattstream.Server.Access;
using Wattstream.Telemetry;

namespace Wattstream.Server.Commands;

/// <summary>
/// <c>token create</c>: a token for the hub as configured (the same settings as serve, checked as serve checks them,
/// so <c>--Auth:HmacSecret=…</c> and <c>Auth__HmacSecret</c> work and a misspelt one is named), printed alone on
/// standard output for scripts.
/// </summary>
internal sealed class TokenCreateCommand : Command
{
    private readonly Option<string[]> _orgs = new("--org") { Description = "The org(s) the token may read or push to: repeat or comma-separate; * for every org.", Required = true };
    private readonly Option<string?> _sites = new("--sites") { Description = "Comma-separated sites within those orgs; * or absent for every site." };
    private readonly Option<string> _scopes = new("--scopes") { Description = "Comma- or space-separated: read, publish, admin.", DefaultValueFactory = _ => "read" };
    private readonly Option<string> _ttl = new("--ttl") { Description = "Lifetime: 90s, 30m, 12h, 7d (at most 366d).", DefaultValueFactory = _ => "1h" };
    private readonly Option<string> _subject = new("--subject") { Description = "Who the token is for (its sub claim; shown in logs).", DefaultValueFactory = _ => "wattstream-cli" };
    private readonly Option<string?> _signingKey = new("--signing-key") { Description = "An EC P-256 private key (PEM) to sign with ES256; without it, Auth:HmacSecret signs (HS256)." };

    public TokenCreateCommand()
        : base("create", "Print a signed token for the hub as configured.")
    {
        Options.Add(_orgs);
        Options.Add(_sites);
        Options.Add(_scopes);
        Options.Add(_ttl);
        Options.Add(_subject);
        Options.Add(_signingKey);
        TreatUnmatchedTokensAsErrors = false;
        SetAction(CreateAsync);
    }

    private async Task<int> CreateAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var configuration = HostSettings.From(result).Read(out var settingsProblems);
        if (settingsProblems.Count > 0)
        {
            return await FailAsync(settingsProblems); // before binding: a value its setting cannot take would throw there
        }

        var auth = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        static string[] Split(string? value) => value?.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        var orgList = result.GetValue(_orgs)!.SelectMany(Split).Distinct(StringComparer.Ordinal).ToArray();
        var siteList = Split(result.GetValue(_sites)).Where(s => s != "*").Distinct(StringComparer.Ordinal).ToArray();
        var scopeList = Split(result.GetValue(_scopes)).Distinct(StringComparer.Ordinal).ToArray();
        var problems = new List<string>();
        if (orgList.Length == 0 || orgList.Any(o => o != "*" && !Subjects.IsValidToken(o)))
        {
            problems.Add($"--org: give one or more org ids ({Subjects.TokenRule}) or *");
        }

        if (siteList.Any(s => !Subjects.IsValidToken(s)))
        {
            problems.Add($"--sites: site ids are comma-separated, each {Subjects.TokenRule}");
        }

        if (scopeList.Length == 0 || scopeList.Any(s => s is not ("read" or "publish" or "admin")))
        {
            problems.Add("--scopes: one or more of read, publish, admin");
        }

        if (!TokenIssuer.TryParseLifetime(result.GetValue(_ttl), out var lifetime))
        {
            problems.Add("--ttl: a lifetime such as 90s, 30m, 12h or 7d");
        }

        if (problems.Count == 0)
        {
            try
            {
                var credentials = SigningKeys.ForSigning(auth, result.GetValue(_signingKey));
                Console.WriteLine(TokenIssuer.Create(auth, credentials, result.GetValue(_subject)!, orgList, siteList, scopeList, lifetime, TimeProvider.System));
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                problems.Add(e.Message);
            }
        }

        return await FailAsync(problems);
    }

    private static async Task<int> FailAsync(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync($"wattstream token create: {problem}");
        }

        return 1;
    }
}
