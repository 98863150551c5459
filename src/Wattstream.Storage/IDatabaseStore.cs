using Wattstream.Storage.Alerts;
using Wattstream.Storage.Audit;

namespace Wattstream.Storage;

/// <summary>
/// A reading store whose database also keeps alerts, the audit log and the event epochs: the registration that
/// chooses the store registers these from it, so their users know no store type.
/// </summary>
public interface IDatabaseStore : IReadingStore
{
    /// <summary>Alert rules and alerts in the same database.</summary>
    IAlertStore CreateAlertStore();

    /// <summary>The audit log in the same database.</summary>
    IAuditStore CreateAuditStore();

    /// <summary>The epochs event ids count in, in the same database.</summary>
    SqlEventEpochs CreateEventEpochs();
}
