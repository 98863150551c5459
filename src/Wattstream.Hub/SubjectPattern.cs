using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// A subject filter with NATS wildcard semantics: <c>*</c> matches exactly one token, <c>&gt;</c> (last token only)
/// matches one or more remaining tokens.
/// </summary>
public sealed class SubjectPattern : IEquatable<SubjectPattern>
{
    private readonly string[] _tokens;
    private readonly bool _tail;

    private SubjectPattern(string pattern, string[] tokens)
    {
        Pattern = pattern;
        _tail = tokens[^1] == ">";
        _tokens = _tail ? tokens[..^1] : tokens;
        IsLiteral = !_tail && Array.IndexOf(_tokens, "*") < 0;
    }

    public string Pattern { get; }

    /// <summary>The tokens before a trailing <c>&gt;</c> (all of them without one).</summary>
    internal string[] Tokens => _tokens;

    /// <summary>Ends with <c>&gt;</c>.</summary>
    internal bool HasTail => _tail;

    /// <summary>The organisation and site the pattern is limited to, when both are literal (<c>orgs.{org}.sites.{site}…</c>).</summary>
    internal (string Org, string Site)? LiteralSite =>
        _tokens.Length >= 4 && _tokens[0] == "orgs" && _tokens[2] == "sites" && _tokens[1] != "*" && _tokens[3] != "*" ? (_tokens[1], _tokens[3]) : null;

    /// <summary>True when the pattern has no wildcard and so matches one subject only.</summary>
    public bool IsLiteral { get; }

    /// <summary>Every subject.</summary>
    public static SubjectPattern All { get; } = Parse(">");

    public static SubjectPattern Parse(string pattern) =>
        TryParse(pattern, out var result, out var error) ? result : throw new FormatException(error);

    public static bool TryParse(string? pattern, out SubjectPattern result, out string error)
    {
        result = null!;
        if (string.IsNullOrEmpty(pattern))
        {
            error = "A subject pattern must not be empty.";
            return false;
        }

        var tokens = pattern.Split('.');
        for (var i = 0; i < tokens.Length; i++)
        {
            var token = tokens[i];
            if (token == ">" && i != tokens.Length - 1)
            {
                error = $"'{pattern}': '>' may only be the last token.";
                return false;
            }

            if (token is not ("*" or ">") && !Subjects.IsValidToken(token))
            {
                error = $"'{pattern}': token {i + 1} ('{token}') is empty or holds white space or a wildcard inside a token.";
                return false;
            }
        }

        result = new SubjectPattern(pattern, tokens);
        error = "";
        return true;
    }

    /// <summary>Whether a published subject matches. Allocates nothing.</summary>
    public bool Matches(ReadOnlySpan<char> subject)
    {
        var index = 0;
        foreach (var range in subject.Split('.'))
        {
            if (index == _tokens.Length)
            {
                return _tail; // more subject tokens than pattern tokens: only '>' takes them
            }

            var token = _tokens[index];
            if (token != "*" && !subject[range].SequenceEqual(token))
            {
                return false;
            }

            index++;
        }

        // Every subject token was matched; '>' needs at least one more.
        return index == _tokens.Length && !_tail;
    }

    /// <summary>
    /// Whether some subject whose leading tokens are <paramref name="leading"/> could match (a null token stands for any
    /// value): <c>orgs.*.sites.&gt;</c> could match under <c>["orgs", "acme"]</c>, <c>orgs.globex.&gt;</c> could not.
    /// </summary>
    public bool CouldMatch(ReadOnlySpan<string?> leading)
    {
        for (var i = 0; i < leading.Length; i++)
        {
            if (i == _tokens.Length)
            {
                return _tail;
            }

            if (_tokens[i] != "*" && leading[i] is { } token && _tokens[i] != token)
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(SubjectPattern? other) => other is not null && Pattern == other.Pattern;

    public override bool Equals(object? obj) => Equals(obj as SubjectPattern);

    public override int GetHashCode() => Pattern.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => Pattern;
}
