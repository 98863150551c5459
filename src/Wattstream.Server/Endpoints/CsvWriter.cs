using System.Globalization;
using System.Text;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// The one writer of every CSV answer (alerts, history, energy). A text cell a spreadsheet would read as a formula —
/// one that begins with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a carriage return (OWASP's rule) — gets a
/// single quote in front, so an alert message such as <c>=cmd|' /C calc'!A0</c> opens as text; cells are quoted as
/// RFC 4180 needs. Numbers are written as numbers, never prefixed: -2.5 in a numeric column stays <c>-2.5</c>.
/// </summary>
internal sealed class CsvWriter
{
    private readonly StringBuilder _csv = new();
    private bool _rowStarted;

    /// <summary>A table whose first row is <paramref name="header"/>.</summary>
    public CsvWriter(params string[] header)
    {
        foreach (var name in header)
        {
            Text(name);
        }

        EndRow();
    }

    /// <summary>Whether the caller asked for CSV: <c>?format=csv</c> or <c>Accept: text/csv</c>.</summary>
    public static bool IsAsked(HttpContext context) =>
        context.Request.Query["format"].FirstOrDefault() == "csv"
        || context.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true);

    public CsvWriter Text(string? value)
    {
        var cell = NextCell();
        if (string.IsNullOrEmpty(value))
        {
            return this;
        }

        var guarded = value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;
        if (guarded.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            cell.Append(guarded);
        }
        else
        {
            cell.Append('"').Append(guarded.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }

        return this;
    }

    /// <summary>A number in its shortest round-trip form; empty when absent.</summary>
    public CsvWriter Number(double? value)
    {
        var cell = NextCell();
        if (value is { } v)
        {
            cell.Append(v.ToString("R", CultureInfo.InvariantCulture));
        }

        return this;
    }

    public CsvWriter Number(long value)
    {
        NextCell().Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    public CsvWriter EndRow()
    {
        _csv.Append('\n');
        _rowStarted = false;
        return this;
    }

    public IResult ToResult() => Results.Text(_csv.ToString(), "text/csv; charset=utf-8");

    private StringBuilder NextCell()
    {
        if (_rowStarted)
        {
            _csv.Append(',');
        }

        _rowStarted = true;
        return _csv;
    }
}
