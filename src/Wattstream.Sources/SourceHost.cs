using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Sources.DerSim;
using Wattstream.Sources.Sse;
using Wattstream.Sources.Whatwatt;

namespace Wattstream.Sources;

/// <summary>Runs every configured source until the host stops.</summary>
public sealed class SourceHost : BackgroundService
{
    private readonly TelemetrySource[] _sources;

    public SourceHost(ConfiguredSources sources, TelemetryHub hub, StatusBoard statuses, IOptions<SourceTimingOptions> timing, TimeProvider time, ILoggerFactory loggers, IEnumerable<SourceFactory> factories)
        : this(sources?.All ?? throw new ArgumentNullException(nameof(sources)), hub, statuses, timing?.Value ?? throw new ArgumentNullException(nameof(timing)), time, loggers, factories)
    {
    }

    public SourceHost(IReadOnlyList<SourceOptions> sources, TelemetryHub hub, StatusBoard statuses, SourceTimingOptions timing, TimeProvider time, ILoggerFactory loggers, IEnumerable<SourceFactory>? factories = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var context = new SourceContext(hub, statuses, timing, time, loggers, new SourceHttpClients());
        var more = factories?.ToArray() ?? [];
        _sources = sources.Select(o => Create(o, context, more)).ToArray();
    }

    public IReadOnlyList<TelemetrySource> Sources => _sources;

    /// <summary>A source of a configured kind: the built-in ones, or one a plug-in registered (<see cref="SourceFactory"/>).</summary>
    public static TelemetrySource Create(SourceOptions options, SourceContext context, IReadOnlyList<SourceFactory>? factories = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Url is { UserInfo.Length: > 0 })
        {
            throw new ArgumentException($"Source {options.Id}: put credentials in Password or Token, not in the URL (URLs are logged).");
        }

        return options.Kind switch
        {
            SourceKind.Whatwatt => new WhatwattSource(options, context),
            SourceKind.DerSim => new DerSimSource(options, context),
            SourceKind.Sse => new ReadingSseSource(options, context),
            _ => factories?.FirstOrDefault(f => f.Kind == options.Kind) is { } factory
                ? factory.Create(options, context)
                : throw new ArgumentException($"Source {options.Id}: kind {options.Kind.ToString().ToLowerInvariant()} needs its module (for nats: Nats:Url or the Wattstream.Nats package)."),
        };
    }

    public IEnumerable<SourceStatus> Statuses() => _sources.Select(s => new SourceStatus(
        s.Options.Id,
        s.Options.Kind.ToString().ToLowerInvariant(),
        s.State.SafeUrl,
        s.State.Status.ToWireName(),
        s.State.LastSeen,
        s.State.LastError,
        s.State.Events,
        s.State.Bytes,
        s.State.Rejected,
        s.State.Reconnects,
        s.Ders.Select(d => d.Address.Subject).ToArray(),
        s.State.Retries,
        s.State.NextAttempt));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_sources.Select(s => Task.Run(() => s.RunAsync(stoppingToken), CancellationToken.None)));
}

/// <summary>A source kind a module adds (NATS lives in Wattstream.Nats, so the sources need no NATS client).</summary>
public sealed record SourceFactory(SourceKind Kind, Func<SourceOptions, SourceContext, TelemetrySource> Create);

/// <summary>One HttpClient per source, without a timeout (streams stay open for days) and with the source's auth handler.</summary>
internal sealed class SourceHttpClients : ISourceHttpClients
{
    public HttpClient Create(HttpMessageHandler? authHandler)
    {
        var transport = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        HttpMessageHandler handler = transport;
        if (authHandler is DelegatingHandler delegating)
        {
            delegating.InnerHandler = transport;
            handler = delegating;
        }

        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }
}

/// <summary>The validated <c>Sources</c> list of the configuration.</summary>
public sealed record ConfiguredSources(IReadOnlyList<SourceOptions> All);
