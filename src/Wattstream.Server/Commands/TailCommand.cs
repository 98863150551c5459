using System.CommandLine;
using Wattstream.Server.Tail;

namespace Wattstream.Server.Commands;

/// <summary>
/// <c>wattstream tail URL</c>: follows a stream of the hub or of a device and shows it as a table that updates in
/// place (one row per DER, its newest values with units), or the raw events with <c>--json</c>. SSE streams reconnect
/// with <c>Last-Event-ID</c>, and say so.
/// </summary>
internal sealed class TailCommand : Command
{
    private readonly Argument<string> _url = new("url")
    {
        Description = "The stream: http://…/api/v1/live (whatwatt), …/api/sse/meters (HES), …/stream/sites/ID (Novacore), ws://…/api/dersim/ws/telemetry, ws://…/ws",
    };

    private readonly Option<string?> _password = new("--password") { Description = "A whatwatt device's password (Digest or Basic, empty user name). Also WATTSTREAM_TAIL_PASSWORD." };
    private readonly Option<string?> _token = new("--token") { Description = "A bearer token or API key (the hub with Auth:Mode=token, Novacore). Also WATTSTREAM_TAIL_TOKEN." };
    private readonly Option<string> _subject = new("--subject") { Description = "The subject to subscribe to on the hub's /ws.", DefaultValueFactory = _ => ">" };
    private readonly Option<bool> _json = new("--json") { Description = "Print each event's data as one line instead of the table." };
    private readonly Option<int?> _count = new("--count") { Description = "Stop after this many events." };

    public TailCommand()
        : base("tail", "Follow a stream of the hub or of a device as a live table (or raw lines with --json).")
    {
        Arguments.Add(_url);
        foreach (var option in new Option[] { _password, _token, _subject, _json, _count })
        {
            Options.Add(option);
        }

        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(result.GetValue(_url), UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https" or "ws" or "wss"))
        {
            await Console.Error.WriteLineAsync($"wattstream tail: '{result.GetValue(_url)}' is not a stream URL (http, https, ws or wss).");
            return 2;
        }

        var options = new TailOptions(
            address,
            result.GetValue(_password) ?? Environment.GetEnvironmentVariable("WATTSTREAM_TAIL_PASSWORD"),
            result.GetValue(_token) ?? Environment.GetEnvironmentVariable("WATTSTREAM_TAIL_TOKEN"),
            result.GetValue(_subject)!,
            result.GetValue(_json),
            result.GetValue(_count));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        var tail = new Tail.Tail(options);
        try
        {
            await tail.RunAsync(stop.Token);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (TailException e)
        {
            await Console.Error.WriteLineAsync($"wattstream tail: {e.Message}");
            return 1;
        }
    }
}
