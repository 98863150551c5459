using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Wattstream.Alerts.Evaluation;
using Wattstream.Storage.Alerts;

namespace Wattstream.Alerts.Rules;

/// <summary>
/// Every rule: from configuration (read-only), the example set, and those made through the API (kept in the
/// <see cref="IAlertRuleStore"/>: the alert store, or in cluster mode a KV bucket whose changes from other nodes come in
/// too). A change is seen by evaluation at once, through <see cref="Changed"/>; unchanged rules keep their compiled
/// form, so their state (pending, firing) survives another rule's edit.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim is only awaited (WaitAsync), so it never creates a wait handle to dispose.")]
public sealed class AlertRuleSet(IAlertRuleStore store, IReadOnlyList<AlertRule> fixedRules, TimeProvider time, ILogger<AlertRuleSet> logger)
{
    public const string ConfigSource = "config";
    public const string ApiSource = "api";

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _writes = new(1, 1);
    private long _refused;
    private readonly Dictionary<string, AlertRule> _api = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CompiledRule> _compiled = new(StringComparer.Ordinal);
    private IReadOnlyList<CompiledRule> _active = [];
    private int _following;

    /// <summary>Raised after every change, with the rules evaluation should use now.</summary>
    public event Action<IReadOnlyList<CompiledRule>>? Changed;

    public IReadOnlyList<CompiledRule> Compiled
    {
        get
        {
            lock (_gate)
            {
                return _active;
            }
        }
    }

    /// <summary>
    /// Loads the API's rules from the store (a stored rule that no longer validates is skipped and logged), and follows
    /// the store's changes from then on (in cluster mode, those of every node).
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _following, 1) == 0)
        {
            store.Changed += OnStoredRuleChanged;
        }

        var stored = await store.ListRulesAsync(cancellationToken);
        lock (_gate)
        {
            foreach (var row in stored)
            {
                if (Parse(row) is { } rule)
                {
                    _api[row.Id] = rule;
                }
            }

            Recompile();
        }

        Changed?.Invoke(Compiled);
    }

    /// <summary>Every rule, configuration's first.</summary>
    public IReadOnlyList<AlertRule> All()
    {
        lock (_gate)
        {
            return [.. fixedRules.Select(r => r.Copy()), .. _api.Values.OrderBy(r => r.Id, StringComparer.Ordinal).Select(r => r.Copy())];
        }
    }

    public AlertRule? Find(string id)
    {
        lock (_gate)
        {
            return (fixedRules.FirstOrDefault(r => r.Id == id) ?? _api.GetValueOrDefault(id))?.Copy();
        }
    }

    /// <summary>True when the id belongs to a rule of configuration or the example set, which the API cannot change.</summary>
    public bool IsFixed(string id) => fixedRules.Any(r => r.Id == id);

    public int ApiRuleCount
    {
        get
        {
            lock (_gate)
            {
                return _api.Count;
            }
        }
    }

    /// <summary>Saves refused by a limit since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>API rules of one org (every-org rules are not any org's).</summary>
    public int ApiRuleCountOf(string org)
    {
        lock (_gate)
        {
            return _api.Values.Count(r => r.Org == org);
        }
    }

    /// <summary>
    /// Creates or replaces an API rule (validated by the caller); stored first, then in force. <paramref name="admit"/>
    /// (a limit) is asked with saves serialised, so concurrent creates cannot pass it together; false: nothing saved.
    /// </summary>
    public async Task<bool> SaveAsync(AlertRule rule, Func<bool>? admit = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var copy = rule.Copy();
        var body = Body(copy);
        copy.Source = null;
        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (admit?.Invoke() == false)
            {
                Interlocked.Increment(ref _refused);
                return false;
            }

            await store.SaveRuleAsync(new StoredAlertRule(copy.Id!, copy.Org, copy.Site, body, time.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken);
        }
        finally
        {
            _writes.Release();
        }

        copy.Source = ApiSource;
        IReadOnlyList<CompiledRule> now;
        lock (_gate)
        {
            _api[copy.Id!] = copy;
            _compiled.Remove(copy.Id!);
            now = Recompile();
        }

        Changed?.Invoke(now);
        return true;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var deleted = await store.DeleteRuleAsync(id, cancellationToken);
        IReadOnlyList<CompiledRule> now;
        lock (_gate)
        {
            deleted |= _api.Remove(id);
            _compiled.Remove(id);
            now = Recompile();
        }

        Changed?.Invoke(now);
        return deleted;
    }

    // A rule the store holds that no longer validates (or that configuration shadows) is skipped and logged.
    private AlertRule? Parse(StoredAlertRule row)
    {
        AlertRule? rule = null;
        try
        {
            rule = JsonSerializer.Deserialize(row.Body, AlertRuleJson.Default.AlertRule);
        }
        catch (JsonException)
        {
        }

        if (rule is null || rule.Validate().Count > 0 || IsFixed(row.Id))
        {
            logger.LogWarning("Stored alert rule {Rule} is invalid or shadowed by configuration; skipped", row.Id);
            return null;
        }

        rule.Source = ApiSource;
        return rule;
    }

    // A change the store reports (in cluster mode, from any node): applied unless this set holds that very rule already
    // (this node's own save), so a rule's evaluation state is reset only when the rule really changed.
    private void OnStoredRuleChanged(string id, StoredAlertRule? row)
    {
        IReadOnlyList<CompiledRule> now;
        lock (_gate)
        {
            if (row is null)
            {
                if (!_api.Remove(id))
                {
                    return;
                }
            }
            else
            {
                if (Parse(row) is not { } rule || (_api.TryGetValue(id, out var held) && Body(held) == Body(rule)))
                {
                    return;
                }

                _api[id] = rule;
            }

            _compiled.Remove(id);
            now = Recompile();
        }

        Changed?.Invoke(now);
    }

    private static string Body(AlertRule rule)
    {
        var copy = rule.Copy();
        copy.Source = null;
        return JsonSerializer.Serialize(copy, AlertRuleJson.Default.AlertRule);
    }

    private IReadOnlyList<CompiledRule> Recompile()
    {
        var rules = fixedRules.Concat(_api.Values).ToArray();
        foreach (var id in _compiled.Keys.Where(id => rules.All(r => r.Id != id)).ToArray())
        {
            _compiled.Remove(id);
        }

        _active = [.. rules.Select(r => _compiled.TryGetValue(r.Id!, out var c) ? c : _compiled[r.Id!] = new CompiledRule(r))];
        return _active;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AlertRule))]
[JsonSerializable(typeof(AlertRule[]))]
public sealed partial class AlertRuleJson : JsonSerializerContext;
