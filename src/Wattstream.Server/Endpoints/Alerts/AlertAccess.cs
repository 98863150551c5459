using Wattstream.Alerts.Delivery;
using Wattstream.Alerts.Rules;
using Wattstream.Hub;
using Wattstream.Storage.Alerts;
using Wattstream.Streaming.Access;

namespace Wattstream.Server.Endpoints.Alerts;

/// <summary>What a caller's scope means for alerts and rules: the same orgs and sites as its readings.</summary>
internal static class AlertAccess
{
    /// <summary>The store's side of <see cref="TelemetryScope.CanSee(Hub.Feeds.IFeedItem)"/> (a scope restricted by a rule alone reads nothing stored).</summary>
    public static AlertQuery Query(TelemetryScope scope) => scope.SeesEverything
        ? new AlertQuery()
        : scope.Orgs is null && scope.Sites is null
            ? new AlertQuery { Orgs = [] }
            : new AlertQuery { Orgs = scope.Orgs, Sites = scope.Sites };

    /// <summary>Rules a caller sees: every-org rules and those of its orgs and sites.</summary>
    public static bool CanSee(TelemetryScope scope, AlertRule rule) =>
        rule.Org is null || scope.SeesEverything || (rule.Site is null ? CanSeeOrg(scope, rule.Org) : scope.CanSeeSite(rule.Org, rule.Site));

    /// <summary>
    /// Rules a caller may make, change or delete: within its orgs (and sites, for a caller limited to sites); a rule
    /// for every org is a hub admin's.
    /// </summary>
    public static bool MayManage(TelemetryScope scope, AlertRule rule)
    {
        if (scope.SeesEverything)
        {
            return true;
        }

        if (rule.Org is null || (scope.Orgs is null && scope.Sites is null))
        {
            return false;
        }

        return (scope.Orgs is null || scope.Orgs.Contains(rule.Org))
            && (scope.Sites is null || (rule.Site is not null && scope.Sites.Contains(rule.Site)));
    }

    private static bool CanSeeOrg(TelemetryScope scope, string org) =>
        (scope.Orgs is not null || scope.Sites is not null) && (scope.Orgs is null || scope.Orgs.Contains(org));
}
