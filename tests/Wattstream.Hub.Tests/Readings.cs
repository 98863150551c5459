using Wattstream.Telemetry;

namespace Wattstream.Hub.Tests;

internal static class Readings
{
    public static DerAddress Der(string der = "m1", string site = "s1", string device = "d1", string org = "o1") => new(org, site, device, der);

    public static Reading Meter(DerAddress der, long timestamp, double watts = 100) =>
        new(der, DerType.Meter, timestamp, null, [new Measurement(Quantity.ActivePower, watts, Unit.Watt)]);

    public static List<HubEvent> Drain(HubSubscription subscription)
    {
        var events = new List<HubEvent>();
        while (subscription.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }
}
