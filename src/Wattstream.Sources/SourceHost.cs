using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Jobs;
using Wattstream.Hub.Status;
using Wattstream.Sources.DerSim;
using Wattstream.Sources.Mqtt;
using Wattstream.Sources.Nats;
using Wattstream.Sources.Sse;
using Wattstream.Sources.Whatwatt;

namespace Wattstream.Sources;

/// <summary>
/// Runs every configured source until the host stops, each as the job <c>source:{id}</c>: on a single node from start to
/// stop; on a cluster node only while it holds the source's lease, so a device is read by one node of the cluster
/// (the whatwatt Go serves one client) and a lost lease disconnects at once.
/// </summary>
public sealed class SourceHost : BackgroundService
{
    private readonly TelemetrySource[] _sources;
    private readonly IJobOwnership _jobs;

    public SourceHost(ConfiguredSources sources, TelemetryHub hub, StatusBoard statuses, IOptions<SourceTimingOptions> timing, TimeProvider time, ILoggerFactory loggers, IJobOwnership jobs)
        : this(sources?.All ?? throw new ArgumentNullException(nameof(sources)), hub, statuses, timing?.Value ?? throw new ArgumentNullException(nameof(timing)), time, loggers, jobs)
    {
    }

    public SourceHost(IReadOnlyList<SourceOptions> sources, TelemetryHub hub, StatusBoard statuses, SourceTimingOptions timing, TimeProvider time, ILoggerFactory loggers, IJobOwnership? jobs = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var context = new SourceContext(hub, statuses, timing, time, loggers, new SourceHttpClients());
        _sources = sources.Select(o => Create(o, context)).ToArray();
        _jobs = jobs ?? new LocalJobs();
    }

    public IReadOnlyList<TelemetrySource> Sources => _sources;

    /// <summary>This node's id, as <c>owner</c> names it.</summary>
    public string Node => _jobs.Node;

    /// <summary>The job that runs a source: <c>source:{id}</c>.</summary>
    public static string JobKey(string sourceId) => $"source:{sourceId}";

    /// <summary>Whether this node runs the source now (a single node runs every one).</summary>
    public bool Runs(string sourceId) => _jobs.Owned.Contains(JobKey(sourceId));

    /// <summary>A source of a configured kind.</summary>
    public static TelemetrySource Create(SourceOptions options, SourceContext context)
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
            SourceKind.Nats => new NatsSource(options, context),
            SourceKind.Mqtt => new MqttSource(options, context),
            _ => throw new ArgumentException($"Source {options.Id}: unknown kind {options.Kind}."),
        };
    }

    /// <summary>Every source as this node knows it; <c>Owner</c> is this node for the ones it runs, else null.</summary>
    public IEnumerable<SourceStatus> Statuses()
    {
        var owned = _jobs.Owned;
        return _sources.Select(s => StatusOf(s) with { Owner = owned.Contains(JobKey(s.Options.Id)) ? _jobs.Node : null });
    }

    /// <summary>A source as this node knows it (no owner).</summary>
    public static SourceStatus StatusOf(TelemetrySource s) => new(
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
        s.State.NextAttempt);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var registrations = new List<IAsyncDisposable>(_sources.Length);
        try
        {
            foreach (var source in _sources)
            {
                registrations.Add(await _jobs.RunWhileOwnedAsync(JobKey(source.Options.Id), source.RunAsync, stoppingToken));
            }

            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stops: every source disconnects and, in a cluster, its lease is handed on at once.
        }
        finally
        {
            await Task.WhenAll(registrations.Select(r => r.DisposeAsync().AsTask()));
        }
    }
}

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
