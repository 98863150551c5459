using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Wattstream.Alerts.Rules;
using Wattstream.Nats;
using Wattstream.Nats.Cluster;
using Wattstream.Server.Access;
using Wattstream.Storage;
using Wattstream.Storage.Alerts;

namespace Wattstream.Server.Nats;

/// <summary>
/// In cluster mode, the configuration every node shares: API keys (<c>wattstream_api_keys</c>, hashes only, as on disk)
/// and the API's alert rules (<c>wattstream_alert_rules</c>), each a KV bucket at <c>Nats:Replicas</c> held in memory
/// on every node. Opened once the node has joined (after <see cref="ClusterNode"/>'s start, before the server listens);
/// then this node's own <c>api-keys.json</c> and stored rules are imported, create-only (docs/scaling.md).
/// </summary>
public sealed class SharedConfiguration(
    ClusterNode node,
    IOptions<StorageOptions> storage,
    IAlertStore alertStore,
    TimeProvider time,
    ILogger<SharedConfiguration> log) : IHostedLifecycleService, IAsyncDisposable
{
    public const string ApiKeysBucket = "wattstream_api_keys";
    public const string AlertRulesBucket = "wattstream_alert_rules";

    /// <summary>The keys every node honours; null until the node has started.</summary>
    public SharedBucket<ApiKeyRecord>? ApiKeys { get; private set; }

    /// <summary>The API's alert rules of the whole cluster; null until the node has started.</summary>
    public SharedBucket<StoredAlertRule>? AlertRules { get; private set; }

    /// <summary>A rule as the bucket holds it now (null: deleted), from this node or another.</summary>
    public event Action<string, StoredAlertRule?>? AlertRuleChanged;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var connection = node.Connection ?? throw new InvalidOperationException("The cluster node has no NATS connection: it starts first.");
        var replicas = node.Options.Replicas;
        ApiKeys = await SharedBucket.OpenAsync(connection, ApiKeysBucket, replicas, ApiKeyJsonContext.Default.ApiKeyRecord, null, log, cancellationToken);
        AlertRules = await SharedBucket.OpenAsync(
            connection, AlertRulesBucket, replicas, SharedConfigurationJson.Default.StoredAlertRule, (id, rule) => AlertRuleChanged?.Invoke(id, rule), log, cancellationToken);

        // What this node kept before cluster mode (or meanwhile, as a single node): brought in once, never over a
        // key or rule the cluster holds or has deleted.
        var localKeys = new FileApiKeyStore(storage.Value.ResolveDataDirectory(), time).List();
        await alertStore.MigrateAsync(cancellationToken);
        var localRules = await alertStore.ListRulesAsync(cancellationToken);
        var keys = await ApiKeys.ImportAsync(localKeys.Select(k => (k.Id, k)), cancellationToken);
        var rules = await AlertRules.ImportAsync(localRules.Select(r => (r.Id, r)), cancellationToken);
        log.LogInformation(
            "Shared configuration: {Keys} API keys and {Rules} alert rules in the cluster; imported {KeysImported} of this node's {KeysLocal} keys and {RulesImported} of its {RulesLocal} rules (the others were there or deleted)",
            ApiKeys.Entries.Count, AlertRules.Entries.Count, keys, localKeys.Count, rules, localRules.Count);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (ApiKeys is { } keys)
        {
            await keys.DisposeAsync();
        }

        if (AlertRules is { } rules)
        {
            await rules.DisposeAsync();
        }
    }
}

/// <summary>API keys in the cluster's bucket: made, revoked and checked the same on every node.</summary>
public sealed class ClusterApiKeyStore(SharedConfiguration shared, TimeProvider time) : IApiKeyStore
{
    private IReadOnlyDictionary<string, ApiKeyRecord> Keys => shared.ApiKeys?.Entries ?? Empty;

    private static readonly Dictionary<string, ApiKeyRecord> Empty = [];

    public IReadOnlyList<ApiKeyRecord> List() => [.. Keys.Values.OrderBy(k => k.Created)];

    public async Task<(ApiKeyRecord Record, string Key)> CreateAsync(string name, string[] orgs, string[] sites, string[] scopes, DateTimeOffset? expires)
    {
        var made = Access.ApiKeys.New(name, orgs, sites, scopes, time.GetUtcNow(), expires);
        await Bucket.PutAsync(made.Record.Id, made.Record);
        return made;
    }

    public Task<bool> RevokeAsync(string id) => Bucket.DeleteAsync(id);

    public bool IsLive(string id) => Keys.ContainsKey(id);

    public bool TryVerify(string presented, out ApiKeyRecord record) => Access.ApiKeys.TryVerify(Keys, presented, time.GetUtcNow(), out record);

    private SharedBucket<ApiKeyRecord> Bucket => shared.ApiKeys ?? throw new InvalidOperationException("The shared configuration is not open yet.");
}

/// <summary>The API's alert rules in the cluster's bucket: a rule saved on any node is in force on every node.</summary>
public sealed class ClusterAlertRules(SharedConfiguration shared) : IAlertRuleStore
{
    // Empty before the bucket is open (evaluation loads its rules first); the bucket's first load comes as changes.
    public Task<IReadOnlyList<StoredAlertRule>> ListRulesAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<StoredAlertRule>>([.. shared.AlertRules?.Entries.Values ?? []]);

    public Task SaveRuleAsync(StoredAlertRule rule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return Bucket.PutAsync(rule.Id, rule, cancellationToken);
    }

    public Task<bool> DeleteRuleAsync(string id, CancellationToken cancellationToken = default) => Bucket.DeleteAsync(id, cancellationToken);

    public event Action<string, StoredAlertRule?>? Changed
    {
        add => shared.AlertRuleChanged += value;
        remove => shared.AlertRuleChanged -= value;
    }

    private SharedBucket<StoredAlertRule> Bucket => shared.AlertRules ?? throw new InvalidOperationException("The shared configuration is not open yet.");
}

/// <summary>Registers the shared configuration in cluster mode: the KV stores replace the file and database ones.</summary>
public static class SharedConfigurationSetup
{
    public static IServiceCollection AddSharedConfiguration(this IServiceCollection services)
    {
        services.AddSingleton<SharedConfiguration>();
        services.AddHostedService(sp => sp.GetRequiredService<SharedConfiguration>());
        services.AddSingleton<IAlertRuleStore, ClusterAlertRules>();
        // Keys only where there are keys (token auth): with Auth:Mode=none /api/keys stays 409 auth_off.
        if (services.Any(d => d.ServiceType == typeof(IApiKeyStore)))
        {
            services.AddSingleton<IApiKeyStore, ClusterApiKeyStore>();
        }

        return services;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StoredAlertRule))]
internal sealed partial class SharedConfigurationJson : JsonSerializerContext;
