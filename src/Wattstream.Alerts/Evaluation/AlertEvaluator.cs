using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Rules;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;

namespace Wattstream.Alerts.Evaluation;

/// <summary>
/// The state machine of every (rule, DER): quiet → pending (the condition holds, for less than the rule's
/// for-duration) → firing → resolved once the value is back past the threshold by the hysteresis. A firing
/// transition within the rule's repeat window of the last notification for the same (rule, DER) is kept as state but
/// not announced (and neither is its resolution), and counted in <see cref="Suppressed"/>.
/// </summary>
/// <remarks>
/// Readings are judged by their own clocks (a device's timestamp), so pushed history and tests are deterministic;
/// silence and statuses by the hub's clock. Not thread-safe: <see cref="AlertService"/> calls it under one lock.
/// </remarks>
/// <param name="lastReading">A DER's newest reading, for the <c>data</c> of alerts that no reading triggered (the hub's last value).</param>
/// <param name="budget">
/// Each org's alerts per minute: a firing transition past it is kept as state but not announced (nor its resolution),
/// as inside a repeat window, and the budget counts it.
/// </param>
public sealed class AlertEvaluator(Func<DerAddress, Reading?>? lastReading = null, AlertBudget? budget = null)
{
    private readonly Dictionary<(string Rule, DerAddress Der), TargetState> _states = [];
    // Silence is tracked only while a stale rule exists: a hub of many DERs and no such rule pays nothing per DER here.
    private readonly Dictionary<DerAddress, (DerType Type, long ReceivedAt)> _seen = [];
    private bool _watchesSilence;
    private bool _watchesSources;
    private readonly Dictionary<DerAddress, (DerType Type, ConnectionStatus Status, string? Detail, long Since)> _statuses = [];
    private CompiledRule[] _rules = [];
    private long _now; // the hub's clock at the current call: budgets run on it, not on a reading's own clock

    public IReadOnlyList<CompiledRule> Rules => _rules;

    /// <summary>
    /// Which sites this evaluator judges (cluster mode: the sites whose job this node owns); null: every site. Silence
    /// and statuses are still followed for every site, so a site taken over is judged from what was seen before.
    /// </summary>
    public Func<string, string, bool>? Judges { get; set; }

    /// <summary>Firing transitions not announced because of a rule's repeat window.</summary>
    public long Suppressed { get; private set; }

    private readonly Dictionary<(string Org, string Site), long> _judgedBefore = [];

    /// <summary>Notifications made (firing and resolved).</summary>
    public long Notified { get; private set; }

    /// <summary>
    /// Replaces the rule set at once (a rule change takes effect without restart). A rule that is gone or changed
    /// loses its state; its firing alerts are resolved ("rule removed" / "rule changed").
    /// </summary>
    public void SetRules(IEnumerable<CompiledRule> rules, long now, List<AlertDraft> output)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(output);
        var next = rules.ToArray();
        var byId = next.ToDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (var ((ruleId, der), state) in _states.ToArray())
        {
            var old = _rules.FirstOrDefault(r => r.Id == ruleId);
            if (byId.TryGetValue(ruleId, out var kept) && ReferenceEquals(kept, old))
            {
                continue;
            }

            if (state.Firing && state.Notified && old is not null)
            {
                var why = kept is null ? "rule removed" : "rule changed";
                output.Add(Draft(old, der, AlertState.Resolved, $"Resolved: {why}.", now, state.LastValue, lastReading?.Invoke(der)));
                Notified++;
            }

            _states.Remove((ruleId, der));
        }

        _rules = next;
        _watchesSilence = next.Any(r => r.Type == AlertType.Stale);
        _watchesSources = next.Any(r => r.Type == AlertType.SourceDown);
        if (!_watchesSilence)
        {
            _seen.Clear();
        }

        if (!_watchesSources)
        {
            _statuses.Clear();
        }
    }

    /// <summary>Judges one accepted reading against every rule that applies to its DER.</summary>
    public void OnReading(Reading reading, long receivedAt, List<AlertDraft> output)
    {
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(output);
        _now = receivedAt;
        if (_watchesSilence)
        {
            _seen[reading.Der] = (reading.Type, receivedAt);
        }

        if (!JudgesSite(reading.Der))
        {
            return;
        }

        if (_judgedBefore.Count > 0 && _judgedBefore.TryGetValue((reading.Der.Org, reading.Der.Site), out var upTo) && reading.Timestamp <= upTo)
        {
            Superseded++;
            return;
        }

        foreach (var rule in _rules)
        {
            if (rule.Type == AlertType.SourceDown || !rule.Applies(reading.Der, reading.Type))
            {
                continue;
            }

            if (Observation.Of(rule, reading) is { } observation)
            {
                var at = rule.Type == AlertType.Stale ? receivedAt : reading.Timestamp;
                Step(rule, reading.Der, observation, at, reading, output);
            }
        }
    }

    /// <summary>A DER's connection status changed (from its source, or the status board's stale sweep).</summary>
    public void OnStatus(DerAddress der, DerType type, ConnectionStatus status, string? detail, long now, List<AlertDraft> output)
    {
        ArgumentNullException.ThrowIfNull(der);
        _now = now;
        if (!_watchesSources)
        {
            return; // no source_down rule: statuses need no tracking (a rule added later sees the next change)
        }

        if (!_statuses.TryGetValue(der, out var known) || known.Status != status)
        {
            _statuses[der] = (type, status, detail, now);
        }

        if (JudgesSite(der))
        {
            EvaluateStatus(der, now, output);
        }
    }

    /// <summary>Re-judges what changes with time alone: silence (<c>stale</c>) and how long a source has been down.</summary>
    public void Sweep(long now, List<AlertDraft> output)
    {
        _now = now;
        foreach (var rule in _rules)
        {
            if (rule.Type != AlertType.Stale)
            {
                continue;
            }

            foreach (var (der, seen) in _seen)
            {
                if (rule.Applies(der, seen.Type) && JudgesSite(der))
                {
                    Step(rule, der, Observation.Silence(rule, now - seen.ReceivedAt), now, lastReading?.Invoke(der), output);
                }
            }
        }

        foreach (var der in _statuses.Keys)
        {
            if (JudgesSite(der))
            {
                EvaluateStatus(der, now, output);
            }
        }
    }

    /// <summary>
    /// Takes over one (rule, DER) as the alerts already published say it is (a site taken over from another node):
    /// firing and announced when <paramref name="firing"/>, with the last announcement at <paramref name="lastFiredAt"/>
    /// for the repeat window. A takeover so neither announces a firing alert again nor misses its resolution.
    /// </summary>
    public void Adopt(string ruleId, DerAddress der, bool firing, long? lastFiredAt, double value)
    {
        ArgumentNullException.ThrowIfNull(der);
        if (_rules.All(r => r.Id != ruleId))
        {
            return; // a rule gone meanwhile: its alerts were resolved by whoever removed it
        }

        _states[(ruleId, der)] = new TargetState { Firing = firing, Notified = firing, LastNotifiedAt = lastFiredAt, LastValue = value };
    }

    /// <summary>Forgets the state of one site's targets (its job moved away); <see cref="Adopt"/> rebuilds it on return.</summary>
    /// <summary>
    /// Cluster mode, a site taken over: its readings up to <paramref name="timestamp"/> (the newest transition the stream
    /// holds for it) were judged by an earlier owner. One arriving now — a restarting node's feed replays readings, and
    /// readings pushed while the site had no owner come late — is not judged again: judged against the state after that
    /// transition it would announce again, or undo, what was already said.
    /// </summary>
    public void JudgedBefore(string org, string site, long timestamp) => _judgedBefore[(org, site)] = timestamp;

    /// <summary>Readings not judged because an earlier owner of their site had judged past them.</summary>
    public long Superseded { get; private set; }

    public void Release(string org, string site)
    {
        _judgedBefore.Remove((org, site));
        foreach (var key in _states.Keys.Where(k => k.Der.Org == org && k.Der.Site == site).ToArray())
        {
            _states.Remove(key);
        }
    }

    private bool JudgesSite(DerAddress der) => Judges is null || Judges(der.Org, der.Site);

    /// <summary>How many DERs the silence check follows.</summary>
    public int Tracked => _seen.Count;

    private void EvaluateStatus(DerAddress der, long now, List<AlertDraft> output)
    {
        var (type, status, detail, since) = _statuses[der];
        var down = status is ConnectionStatus.AuthFailed or ConnectionStatus.Disconnected;
        var message = down
            ? $"Source {status.ToWireName()}{(detail is null ? "" : $": {detail}")}"
            : $"Source {status.ToWireName()}.";
        var observation = new Observation(down ? 1 : 0, down, status == ConnectionStatus.Connected, Text: message);
        foreach (var rule in _rules)
        {
            if (rule.Type == AlertType.SourceDown && rule.Applies(der, type))
            {
                // The condition began when the status did: the for-duration counts from then.
                Step(rule, der, observation, now, lastReading?.Invoke(der), output, pendingSince: since);
            }
        }
    }

    private void Step(CompiledRule rule, DerAddress der, Observation o, long at, Reading? data, List<AlertDraft> output, long? pendingSince = null)
    {
        var key = (rule.Id, der);
        if (!_states.TryGetValue(key, out var state))
        {
            if (!o.Breach)
            {
                return;
            }

            state = new TargetState();
            _states[key] = state;
        }

        if (state.Firing)
        {
            state.LastValue = o.Value;
            if (o.Clear)
            {
                state.Firing = false;
                state.PendingSince = null;
                if (state.Notified)
                {
                    output.Add(Draft(rule, der, AlertState.Resolved, $"Resolved: {o.Describe(rule)}", at, o.Value, data));
                    Notified++;
                }

                state.Notified = false;
            }

            return;
        }

        if (!o.Breach)
        {
            state.PendingSince = null;
            return;
        }

        state.PendingSince ??= pendingSince ?? at;
        if (at - state.PendingSince.Value < rule.ForMs)
        {
            return;
        }

        state.Firing = true;
        state.LastValue = o.Value;
        if (state.LastNotifiedAt is { } last && at - last < rule.RepeatMs)
        {
            state.Notified = false;
            Suppressed++;
            return;
        }

        if (budget is not null && !budget.TryTake(der.Org, _now))
        {
            state.Notified = false;
            return;
        }

        state.Notified = true;
        state.LastNotifiedAt = at;
        output.Add(Draft(rule, der, AlertState.Firing, o.Describe(rule), at, o.Value, data));
        Notified++;
    }

    private static AlertDraft Draft(CompiledRule rule, DerAddress der, AlertState state, string message, long at, double value, Reading? data) =>
        new(rule.Id, rule.Type.ToWireName(), state, message, at, der.Org, der.Site, der, value, rule.Type == AlertType.SourceDown ? null : rule.Threshold, data);

    private sealed class TargetState
    {
        public bool Firing { get; set; }

        public bool Notified { get; set; }

        public long? PendingSince { get; set; }

        public long? LastNotifiedAt { get; set; }

        public double LastValue { get; set; }
    }
}
