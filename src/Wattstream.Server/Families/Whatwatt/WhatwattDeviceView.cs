using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Server.Families.Whatwatt;

/// <summary>
/// The hub seen as a whatwatt device (not the emulator's device): builds the device's <c>/api/v1/report</c> and <c>/api/v1/system</c> bodies for a meter the hub knows.
/// Values the reading lacks are left out, as the device leaves out what its meter does not provide.
/// </summary>
public sealed class WhatwattDeviceView(StatusBoard statuses, TimeProvider time)
{
    public const string Firmware = "1.10.0";
    private readonly DateTimeOffset _boot = time.GetUtcNow();
    private readonly string _bootId = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    /// <summary>A stable 12-hex-digit device id per meter, the device's <c>system.id</c>.</summary>
    public static string DeviceId(DerAddress meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(meter.Subject)))[..12];
    }

    /// <summary>The device's host name (<c>whatwatt-</c> and its id's last six hex digits): its <c>/api/v1/system</c> name and Digest realm.</summary>
    public static string HostName(DerAddress meter) => HostNameOf(DeviceId(meter));

    public static string HostNameOf(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        return $"whatwatt-{deviceId[^6..]}";
    }

    public JsonObject Report(HubEvent last, TimeSpan? interval)
    {
        ArgumentNullException.ThrowIfNull(last);
        var report = WhatwattReport.ToReportObject(last.Reading, last.Id, interval);
        return new JsonObject
        {
            ["report"] = report,
            ["meter"] = Meter(last.Reading.Der),
            ["system"] = SystemSummary(last.Reading.Der),
        };
    }

    public JsonObject System(DerAddress meter, HubEvent? last, TimeSpan? interval)
    {
        ArgumentNullException.ThrowIfNull(meter);
        var id = DeviceId(meter);
        var hostName = HostName(meter);
        var meterInfo = Meter(meter);
        meterInfo["report_interval"] = interval is { } i ? Math.Round(i.TotalSeconds, 3) : null;
        return new JsonObject
        {
            ["device"] = new JsonObject
            {
                ["name"] = hostName,
                ["id"] = id,
                ["model"] = "Wattstream",
                ["firmware"] = Firmware,
                ["license"] = "PLUS",
                ["time_since_boot"] = (long)(time.GetUtcNow() - _boot).TotalSeconds,
            },
            ["meter"] = Prune(meterInfo),
            ["wifi"] = new JsonObject { ["mode"] = "off", ["connected"] = false },
            ["ethernet"] = new JsonObject { ["connected"] = true, ["ip"] = "127.0.0.1", ["hostname"] = hostName },
            ["clouds"] = new JsonObject(),
            ["services"] = new JsonObject { ["live"] = true, ["report"] = true, ["last_reading"] = last is null ? null : last.Reading.Time.UtcDateTime.ToString("o", CultureInfo.InvariantCulture) },
        };
    }

    private JsonObject Meter(DerAddress meter)
    {
        // The device's meter.status: values are trustworthy only when OK.
        var status = statuses.Get(meter)?.Status switch
        {
            ConnectionStatus.Connected => "OK",
            ConnectionStatus.Stale => "NO DATA",
            null or ConnectionStatus.Unknown or ConnectionStatus.Connecting => "RECOGNITION",
            _ => "NOT CONNECTED",
        };
        return new JsonObject
        {
            ["status"] = status,
            ["interface"] = "P1",
            ["protocol"] = "DSMR",
            ["id"] = meter.Der,
            ["model"] = null,
            ["vendor"] = null,
        };
    }

    private JsonObject SystemSummary(DerAddress meter) => new()
    {
        ["id"] = DeviceId(meter),
        ["boot_id"] = _bootId,
        ["time_since_boot"] = (long)(time.GetUtcNow() - _boot).TotalSeconds,
        ["date_time_utc"] = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
    };

    // Members left null are left out (the meter does not provide them).
    private static JsonObject Prune(JsonObject o)
    {
        foreach (var key in o.Where(p => p.Value is null).Select(p => p.Key).ToArray())
        {
            o.Remove(key);
        }

        return o;
    }
}
