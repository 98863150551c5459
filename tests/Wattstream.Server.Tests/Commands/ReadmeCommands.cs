using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Wattstream.Server.Tests;

/// <summary>What a command line of the README is, for the test that runs them: how it is run and what it promises.</summary>
internal enum ReadmeKind
{
    /// <summary>Not a command the test knows: a failure, so nobody can add an untested one.</summary>
    Unknown,

    /// <summary><c>export</c> or a variable assignment (<c>token=$(…)</c>): run in the block's shell, exit 0.</summary>
    Shell,

    /// <summary>A <c>curl</c> that ends: a 2xx answer.</summary>
    Request,

    /// <summary>A <c>wattstream</c> verb that ends (<c>token create</c>, <c>config check</c>, <c>store check</c>): exit 0.</summary>
    Verb,

    /// <summary>The hub: it answers <c>/readyz</c>; it keeps running for the commands after it.</summary>
    Hub,

    /// <summary>A device emulator: it listens on its <c>--port</c>.</summary>
    Emulator,

    /// <summary>nats-server: it listens.</summary>
    NatsServer,

    /// <summary><c>curl -N</c> on a stream: at least one event.</summary>
    Stream,

    /// <summary><c>wattstream tail</c>: at least one row.</summary>
    Tail,
}

/// <summary>One command line of a README block (continuation lines joined), without its trailing comment.</summary>
internal sealed record ReadmeCommand(int Line, string Text)
{
    // dotnet run [-c Release] --project P [-- [serve]]: what the test replaces with the built executable.
    private static readonly Regex DotnetRun = new(@"dotnet\s+run(?:\s+-c\s+Release)?\s+--project\s+(?<project>\S+)(?:\s+--(?=\s|$)(?<serve>\s+serve(?=\s|$))?)?");
    private static readonly Regex LeadingAssignments = new("""^(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|[^\s'"])*\s+)+""");
    private static readonly Regex CapturedOutput = new(@"^[A-Za-z_][A-Za-z0-9_]*=\$\((?<command>.*)\)$", RegexOptions.Singleline);

    /// <summary>The program part: the line without a trailing <c>&amp;</c> and without leading <c>VAR=value</c> settings.</summary>
    public string Program
    {
        get
        {
            var text = Background ? Text[..^1].TrimEnd() : Text;
            return LeadingAssignments.Replace(text, "", 1);
        }
    }

    /// <summary>The line ends with <c>&amp;</c> (the README starts it in the background).</summary>
    public bool Background => Text.EndsWith('&') && !Text.EndsWith("&&", StringComparison.Ordinal);

    public ReadmeKind Kind
    {
        get
        {
            if (Text.StartsWith("export ", StringComparison.Ordinal))
            {
                return ReadmeKind.Shell;
            }

            if (CapturedOutput.Match(Text) is { Success: true } captured)
            {
                // token=$(…): the command inside must be one that ends
                return new ReadmeCommand(Line, captured.Groups["command"].Value).Kind is ReadmeKind.Verb or ReadmeKind.Request
                    ? ReadmeKind.Shell
                    : ReadmeKind.Unknown;
            }

            var program = Program;
            if (program.Length == 0)
            {
                return ReadmeKind.Unknown;
            }

            var words = program.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (words[0])
            {
                case "curl":
                    return words.Contains("-N") || words.Contains("--no-buffer") ? ReadmeKind.Stream : ReadmeKind.Request;
                case "nats-server":
                    return ReadmeKind.NatsServer;
                case "dotnet" when DotnetRun.Match(program) is { Success: true, Index: 0 } run && IsServerProject(run.Groups["project"].Value):
                    return VerbOf(program[(run.Index + run.Length)..]) switch
                    {
                        _ when run.Groups["serve"].Success => ReadmeKind.Hub,
                        null => ReadmeKind.Hub,
                        "emulate" => ReadmeKind.Emulator,
                        "tail" => ReadmeKind.Tail,
                        "config" or "token" or "store" => ReadmeKind.Verb,
                        _ => ReadmeKind.Unknown,
                    };
                default:
                    return ReadmeKind.Unknown;
            }
        }
    }

    /// <summary>The projects of <c>dotnet run --project</c> the test runs as the already-built executable.</summary>
    public const string ServerProject = "src/Wattstream.Server";

    private static bool IsServerProject(string project) => project.TrimEnd('/') == ServerProject;

    private static string? VerbOf(string args)
    {
        var first = args.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return first is null || first.StartsWith('-') ? null : first;
    }

    /// <summary>
    /// The line as the test runs it: <c>dotnet run … --project src/Wattstream.Server --</c> becomes the built executable
    /// (after checking the project is there), a hub without <c>--urls</c> or <c>--Storage:DataDirectory</c> gets the
    /// test's (each hub a data directory of its own: one hub per data directory), the README's ports become the test's, <c>0.0.0.0</c>
    /// becomes loopback, <c>/tmp/</c> the block's folder, a <c>curl</c> fails on a non-2xx answer and an ending one has a
    /// time limit, nats-server listens on loopback on the test's port. A trailing <c>&amp;</c> is dropped: the test
    /// starts what runs on in the background itself.
    /// </summary>
    public string Rewrite(ReadmeRewrite rewrite)
    {
        var text = Background ? Text[..^1].TrimEnd() : Text;
        text = text.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal);
        text = Regex.Replace(text, @"(?<=(?:127\.0\.0\.1|localhost):)\d{2,5}\b", m => rewrite.Port(int.Parse(m.Value, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture));
        text = Regex.Replace(text, @"(?<=--port\s+)\d{2,5}\b", m => rewrite.Port(int.Parse(m.Value, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture));
        text = Regex.Replace(text, @"(?<=^|[\s=])/tmp/", Quote(rewrite.Folder) + "/");
        text = DotnetRun.Replace(text, m =>
        {
            var project = m.Groups["project"].Value;
            if (!IsServerProject(project) || !Directory.Exists(Path.Combine(rewrite.RepositoryRoot, project)))
            {
                throw new InvalidOperationException($"dotnet run --project {project}: no such project in the repository");
            }

            var executable = "dotnet " + Quote(rewrite.Executable) + m.Groups["serve"].Value;
            if (Kind == ReadmeKind.Hub && !Text.Contains("--urls", StringComparison.Ordinal))
            {
                executable += $" --urls http://127.0.0.1:{rewrite.Port(ReadmeRewrite.HubPort)}";
            }

            if (Kind == ReadmeKind.Hub && !Text.Contains("--Storage:DataDirectory", StringComparison.Ordinal))
            {
                executable += $" --Storage:DataDirectory={Quote(rewrite.DataDirectory(Line))}";
            }

            return executable;
        });
        text = Regex.Replace(text, @"(?<=^|[\s(])curl(?=\s)", Kind == ReadmeKind.Stream ? "curl -sS --fail-with-body" : "curl -sS --fail-with-body --max-time 60");
        if (Kind == ReadmeKind.NatsServer)
        {
            text += $" -a 127.0.0.1 -p {rewrite.Port(ReadmeRewrite.NatsPort)}";
        }

        if (Regex.IsMatch(text, @"://(?:\*|\+|\[::\])|0\.0\.0\.0"))
        {
            throw new InvalidOperationException("an address on every interface the test does not know how to move to loopback");
        }

        return text;
    }

    /// <summary>The first URL of an address on this machine in the line, as run (the hub a command talks to, a stream).</summary>
    public static Uri? UrlIn(string text, string option)
    {
        var match = Regex.Match(text, $@"{Regex.Escape(option)}[\s=]+['""]?(?<url>https?://[^\s'"";]+)", RegexOptions.RightToLeft);
        return match.Success ? new Uri(match.Groups["url"].Value) : null;
    }

    /// <summary>A word for bash, in single quotes.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>What the test puts in place of the README's machine-specific parts, for one block.</summary>
internal sealed class ReadmeRewrite(string repositoryRoot, string executable, string folder, Func<int, int> port)
{
    /// <summary>The hub's default port (its default address, <see cref="WattstreamApp.DefaultUrl"/>).</summary>
    public static readonly int HubPort = new Uri(WattstreamApp.DefaultUrl).Port;

    /// <summary>nats-server's default port, which the README's <c>nats-server</c> line relies on.</summary>
    public const int NatsPort = 4222;

    public string RepositoryRoot => repositoryRoot;

    public string Executable => executable;

    public string Folder => folder;

    public int Port(int readmePort) => port(readmePort);

    /// <summary>A data directory of its own for the hub a line starts.</summary>
    public string DataDirectory(int line) => Path.Combine(folder, $"hub-line-{line}");
}

/// <summary>A fenced block of shell commands in the README, and whether (and why) it is not run here.</summary>
internal sealed record ReadmeBlock(int Line, string? Skip, IReadOnlyList<ReadmeCommand> Commands)
{
    private static readonly Regex Marker = new(@"<!--\s*readme-test:(?<body>.*?)-->");
    private static readonly Regex SkipMarker = new(@"^\s*skip:\s*(?<reason>\S.*?)\s*$");
    private static readonly string[] ShellLanguages = ["", "bash", "sh", "shell"];

    /// <summary>
    /// The README's shell blocks (fences without a language or with bash/sh/shell). A block is skipped when the line
    /// before its fence is <c>&lt;!-- readme-test: skip: REASON --&gt;</c>; a <c>readme-test</c> marker of any other form
    /// is an error, so a typo cannot skip a block silently.
    /// </summary>
    public static IReadOnlyList<ReadmeBlock> Parse(string markdown)
    {
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var blocks = new List<ReadmeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].Trim();
            if (!fence.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var language = fence[3..].Trim();
            var start = i;
            var body = new List<(int Line, string Text)>();
            for (i++; i < lines.Length && !lines[i].Trim().StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add((i + 1, lines[i]));
            }

            if (!ShellLanguages.Contains(language))
            {
                continue;
            }

            blocks.Add(new ReadmeBlock(start + 1, SkipReason(lines, start), CommandLines(body)));
        }

        return blocks;
    }

    private static string? SkipReason(string[] lines, int fence)
    {
        var before = fence - 1;
        while (before >= 0 && string.IsNullOrWhiteSpace(lines[before]))
        {
            before--;
        }

        if (before < 0 || Marker.Match(lines[before]) is not { Success: true } marker)
        {
            return null;
        }

        return SkipMarker.Match(marker.Groups["body"].Value) is { Success: true } skip
            ? skip.Groups["reason"].Value
            : throw new FormatException($"README.md:{before + 1}: a readme-test marker is '<!-- readme-test: skip: REASON -->', not '{lines[before].Trim()}'");
    }

    private static List<ReadmeCommand> CommandLines(List<(int Line, string Text)> body)
    {
        var commands = new List<ReadmeCommand>();
        for (var i = 0; i < body.Count; i++)
        {
            var line = body[i].Line;
            var text = new StringBuilder(body[i].Text);
            while (text.Length > 0 && text[^1] == '\\' && i + 1 < body.Count)
            {
                text.Length--;
                var joined = text.ToString().TrimEnd();
                text.Clear().Append(joined).Append(' ').Append(body[++i].Text.Trim());
            }

            var code = WithoutComment(text.ToString());
            if (code.Length > 0)
            {
                commands.Add(new ReadmeCommand(line, code));
            }
        }

        return commands;
    }

    /// <summary>The line without its comment: from a <c>#</c> outside quotes, at the start or after a blank, as bash reads it.</summary>
    private static string WithoutComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i].Trim();
            }
        }

        return line.Trim();
    }
}
