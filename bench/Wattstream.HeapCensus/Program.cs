using System.Globalization;
using Microsoft.Diagnostics.Runtime;

// heap-census <dump> <connections> [--types N]: the live objects of a dump (marked from the roots, so garbage the GC has
// not collected yet is left out), grouped by part, per connection; with --types, the N largest types as well.
if (args.Length < 2 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out var connections) || connections <= 0)
{
    Console.Error.WriteLine("usage: heap-census <dump> <connections> [--types N]");
    return 2;
}

var top = args.Length > 3 && args[2] == "--types" ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0;
using var target = DataTarget.LoadDump(args[0]);
var clr = target.ClrVersions[0];
// The runtime's own DAC beside it (this machine's package feed has no symbol server to fetch one from).
var dac = Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "libmscordaccore.so");
using var runtime = File.Exists(dac) ? clr.CreateRuntime(dac, ignoreMismatch: true) : clr.CreateRuntime();
var heap = runtime.Heap;

var live = new HashSet<ulong>();
var pending = new Stack<ulong>();
foreach (var root in heap.EnumerateRoots())
{
    if (root.Object.Address != 0 && live.Add(root.Object.Address))
    {
        pending.Push(root.Object.Address);
    }
}

while (pending.Count > 0)
{
    var item = heap.GetObject(pending.Pop());
    if (!item.IsValid)
    {
        continue;
    }

    foreach (var reference in item.EnumerateReferences(carefully: true))
    {
        if (reference.Address != 0 && live.Add(reference.Address))
        {
            pending.Push(reference.Address);
        }
    }
}

var byType = new Dictionary<string, (long Count, long Bytes)>(StringComparer.Ordinal);
foreach (var item in heap.EnumerateObjects())
{
    if (live.Contains(item.Address))
    {
        var name = item.Type?.Name ?? "?";
        var (count, bytes) = byType.GetValueOrDefault(name);
        byType[name] = (count + 1, bytes + (long)item.Size);
    }
}

// Types with about one instance per connection or more are the connections' cost; the rest is the process's.
var perConnection = byType.Where(t => t.Value.Count >= connections * 0.9).ToArray();
var parts = perConnection.GroupBy(t => Part(t.Key)).Select(g => (Part: g.Key, Bytes: g.Sum(t => t.Value.Bytes))).OrderByDescending(p => p.Bytes).ToArray();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"live managed objects: {byType.Values.Sum(v => v.Bytes) / 1048576.0:0.0} MB; types with one instance per connection or more ({connections:N0} connections):"));
Console.WriteLine();
Console.WriteLine("| part | per connection |");
Console.WriteLine("| --- | ---: |");
foreach (var (part, bytes) in parts)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {part} | {bytes / (double)connections / 1024:0.0} KB |"));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| total | {parts.Sum(p => p.Bytes) / (double)connections / 1024:0.0} KB |"));
if (top > 0)
{
    Console.WriteLine();
    foreach (var (name, (count, bytes)) in byType.OrderByDescending(t => t.Value.Bytes).Take(top))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)connections,8:0} B/conn {count / (double)connections,6:0.0}x  {name}"));
    }
}

return 0;

// Which part of the stack an object belongs to, by its type's name.
static string Part(string type)
{
    if (type == "System.Byte[]")
    {
        return "buffers (mostly Kestrel's memory pool: free 4 KB blocks kept after a burst)";
    }

    if (type.Contains("Wattstream.", StringComparison.Ordinal) || type.Contains("System.Threading.Channels", StringComparison.Ordinal) || type == "System.Threading.SemaphoreSlim")
    {
        return "Wattstream: hub subscription and queue, session, transport, pump and handler state";
    }

    string[] middleware = ["Authentication", "Authorization", "ExceptionHandler", "StatusCodePages", "RequestDelegateFactory", "DependencyInjection", "Claims", "Logger", "WebSocket", "Routing", "HttpMetricsTagsFeature", "HostingApplication+Context"];
    if (middleware.Any(m => type.Contains(m, StringComparison.Ordinal)))
    {
        return "ASP.NET Core: awaiting middleware, endpoint, DI scope, user, WebSocket";
    }

    string[] http = ["Http1", "HttpRequest", "HttpResponse", "HttpProtocol", "BodyControl", "DefaultHttp", "Http.Features", "HttpConnection", "StringValues", "System.String", "KeyValuePair<System.Type", "KeyValuePair<System.String, System.Object>", "CancellationToken", "TimeoutControl"];
    if (http.Any(h => type.Contains(h, StringComparison.Ordinal)))
    {
        return "Kestrel: HTTP/1.1 request and response state";
    }

    string[] transport = ["Socket", "Pipe", "BufferSegment", "KestrelConnection", "ConnectionReference", "System.Threading.Lock", "System.Threading.Tasks.Task", "TaskCompletionSource", "ExecutionContext"];
    return transport.Any(t => type.Contains(t, StringComparison.Ordinal))
        ? "Kestrel: connection and socket transport (pipes, socket, send and receive loops)"
        : "other";
}
