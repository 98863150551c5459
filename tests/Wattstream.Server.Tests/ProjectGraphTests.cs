using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Wattstream.Server.Tests;

/// <summary>
/// The project graph as the <c>.csproj</c> files have it, against docs/architecture.md's table of projects and the
/// rules the layering keeps: NATS depends on neither the sources nor alerts nor energy (it publishes registered
/// feeds, whatever they are), the sources' client is free of ASP.NET Core, and the hub's access code uses nothing of the emulators.
/// </summary>
public partial class ProjectGraphTests
{
    private static readonly string Root = RepoFiles.Root;

    [Fact]
    public void The_architecture_table_lists_every_project_with_exactly_its_project_references()
    {
        var table = DocumentedReferences();
        var projects = Directory.GetFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(projects, table.Keys.Order(StringComparer.Ordinal).ToArray());

        // One line per project, so a mismatch shows which project and which reference.
        static string Lines(IEnumerable<(string Project, IEnumerable<string> References)> graph) => string.Join(
            "\n",
            graph.OrderBy(p => p.Project, StringComparer.Ordinal)
                .Select(p => $"{p.Project} -> {string.Join(", ", p.References.Order(StringComparer.Ordinal))}"));
        var actual = projects.Select(p => (p!, (IEnumerable<string>)References(p!)));
        Assert.Equal(Lines(table.Select(t => (t.Key, (IEnumerable<string>)t.Value))), Lines(actual));
    }

    [Fact]
    public void Nats_depends_on_neither_sources_nor_alerts_nor_energy()
    {
        string[] forbidden = ["Wattstream.Sources", "Wattstream.Alerts", "Wattstream.Energy"];
        var nats = References("Wattstream.Nats");
        Assert.Contains("Wattstream.Hub", nats); // the references were read at all
        Assert.Empty(nats.Intersect(forbidden));
        Assert.Empty(Closure("Wattstream.Nats").Intersect(forbidden)); // not through another project either
    }

    [Fact]
    public void The_sources_and_what_they_reference_need_no_AspNetCore()
    {
        var closure = Closure("Wattstream.Sources");
        Assert.Contains("Wattstream.DeviceAuthentication", closure); // the client's Digest, BCL only
        Assert.Contains("Wattstream.DeviceAuthentication.AspNetCore", Closure("Wattstream.Server")); // the verifier, the hub's side
        Assert.DoesNotContain(closure, p => FrameworkReferences(p).Contains("Microsoft.AspNetCore.App"));
    }

    [Fact]
    public void The_hubs_access_code_uses_nothing_of_the_emulators()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "src", "Wattstream.Server", "Access"), "*.cs");
        Assert.NotEmpty(files);
        Assert.Empty(files.Where(f => File.ReadAllText(f).Contains("Wattstream.Emulators", StringComparison.Ordinal)).Select(Path.GetFileName));
    }

    // docs/architecture.md, section "Projects": each row whose first cell names src/ projects; the last cell lists
    // their references by short name ("Telemetry, Hub"), "–" for none, and a parenthesis is a note.
    private static Dictionary<string, string[]> DocumentedReferences()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "docs", "architecture.md"));
        var start = Array.IndexOf(lines, "## Projects");
        Assert.True(start >= 0, "docs/architecture.md has no '## Projects' section");
        var table = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)))
        {
            var cells = line.Split('|');
            if (cells.Length < 4 || SrcProject().Matches(cells[1]) is not { Count: > 0 } named)
            {
                continue;
            }

            var dependsOn = cells[^2];
            while (Parenthesis().IsMatch(dependsOn))
            {
                dependsOn = Parenthesis().Replace(dependsOn, "");
            }

            dependsOn = dependsOn.Replace("`", "", StringComparison.Ordinal).Trim();
            var references = dependsOn == "–"
                ? []
                : dependsOn.Split(',', StringSplitOptions.TrimEntries).Select(n => $"Wattstream.{n}").ToArray();
            foreach (var project in named.Select(m => m.Groups[1].Value))
            {
                Assert.True(table.TryAdd(project, references), $"{project} has two rows");
            }
        }

        return table;
    }

    private static XDocument Project(string name) => XDocument.Load(Path.Combine(Root, "src", name, $"{name}.csproj"));

    private static string[] References(string project) => Project(project).Descendants("ProjectReference")
        .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
        .ToArray();

    private static string[] FrameworkReferences(string project) => Project(project).Descendants("FrameworkReference")
        .Select(r => r.Attribute("Include")!.Value)
        .ToArray();

    // The project and everything it references, directly or not.
    private static HashSet<string> Closure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var reference in References(next))
                {
                    pending.Push(reference);
                }
            }
        }

        return seen;
    }

    [GeneratedRegex(@"`src/(Wattstream\.[A-Za-z.]+)`")]
    private static partial Regex SrcProject();

    [GeneratedRegex(@"\([^()]*\)")]
    private static partial Regex Parenthesis();
}
