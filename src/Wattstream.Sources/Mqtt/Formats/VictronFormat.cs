using System.Globalization;
using System.Text;
using System.Text.Json;
using Wattstream.Telemetry;

namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// Victron's Venus OS (a GX device's dbus-flashmq, or the older dbus-mqtt): one D-Bus value per topic,
/// <c>N/&lt;portal id&gt;/&lt;service&gt;/&lt;instance&gt;/&lt;path&gt;</c> with the payload <c>{"value": …}</c>. One installation
/// (portal id) makes three DERs: its grid meter (<c>…-grid</c>), its PV (<c>…-pv</c>, DC solar chargers and AC PV
/// inverters together) and its battery (<c>…-battery</c>); each measured value publishes its DER's reading with the
/// newest value of everything known about it.
/// </summary>
/// <remarks>
/// <para>
/// Venus publishes only while a client asks it to: this format asks for a keepalive on <c>R/&lt;portal id&gt;/keepalive</c>
/// at every connection (an empty payload: Venus then republishes every value) and every 30 s after (with
/// <c>suppress-republish</c>: changed values only), within Venus's 60 s timeout. The portal id is <c>PortalId</c>, or
/// learnt from the first <c>N/&lt;portal id&gt;/…</c> message (another client's keepalive, or an older Venus's retained
/// messages).
/// </para>
/// <para>
/// Venus's units are SI but energy in kWh; its signs are the hub's for the grid (+ import) and the battery
/// (+ charging), PV power is production and is published negative here. The system service's values
/// (<c>system/0/Ac/Grid/L1/Power</c>, <c>Dc/Pv/Power</c>, <c>Dc/Battery/Soc</c>, …) and a device service's
/// (<c>grid/30/Ac/Energy/Forward</c>, <c>battery/512/Soc</c>, <c>solarcharger/279/Yield/Power</c>, …) feed the same DER:
/// the system's DC PV when it has one, else the sum of the solar chargers; the system's AC-coupled PV per phase when it
/// has it, else the sum of the PV inverters. A value of <c>null</c> or an empty payload (a device gone from the D-Bus)
/// removes what it measured. PV's generation register is the sum of every solar charger's <c>Yield/System</c> and PV
/// inverter's <c>Ac/Energy/Forward</c>, published once Venus said its full publish is complete
/// (<c>full_publish_completed</c>), so the sum never jumps as its parts arrive.
/// </para>
/// </remarks>
public sealed class VictronFormat(MqttAddressing addressing) : IMqttFormat
{
    public const string FormatName = "victron";

    /// <summary>How often the keepalive is repeated: Venus stops publishing 60 s after the last one.</summary>
    public static readonly TimeSpan KeepaliveInterval = TimeSpan.FromSeconds(30);

    // A bound on portal ids learnt from topics, against a broker shared with much else.
    private const int MaxInstallations = 16;

    private static readonly byte[] SuppressRepublish = "{\"keepalive-options\":[\"suppress-republish\"]}"u8.ToArray();

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Installation> _installations = new(StringComparer.Ordinal);
    private readonly string? _portalId = string.IsNullOrEmpty(addressing.Options.PortalId) ? null : addressing.Options.PortalId;

    public string Name => FormatName;

    public IReadOnlyList<string> DefaultTopics =>
    [
        .. new[] { "system/0", "grid/+", "battery/+", "solarcharger/+", "pvinverter/+" }.Select(s => $"N/{_portalId ?? "+"}/{s}/#"),
        $"N/{_portalId ?? "+"}/full_publish_completed",
    ];

    public IReadOnlyList<MqttRequest> Requests(DateTimeOffset now, bool connected)
    {
        lock (_gate)
        {
            if (_portalId is not null)
            {
                Find(_portalId);
            }

            var due = new List<MqttRequest>();
            foreach (var installation in _installations.Values)
            {
                if (connected || installation.LastKeepalive is null)
                {
                    // A new connection (or a new installation): ask for everything, Venus may have been asleep.
                    installation.LastKeepalive = now;
                    due.Add(new MqttRequest($"R/{installation.PortalId}/keepalive", []));
                }
                else if (now - installation.LastKeepalive >= KeepaliveInterval)
                {
                    installation.LastKeepalive = now;
                    due.Add(new MqttRequest($"R/{installation.PortalId}/keepalive", SuppressRepublish));
                }
            }

            return due;
        }
    }

    public MqttContent Read(string topic, ReadOnlySpan<byte> payload, long receivedAt)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var levels = topic.Split('/', 5);
        if (levels.Length < 3 || levels[0] != "N" || (_portalId is not null && levels[1] != _portalId))
        {
            return MqttContent.Nothing;
        }

        lock (_gate)
        {
            if (Find(levels[1]) is not { } installation)
            {
                return MqttContent.Nothing;
            }

            if (levels is [_, _, "full_publish_completed"])
            {
                installation.Complete = true;
                return installation.PvEnergy.Count > 0 ? Publish(installation, installation.Pv, receivedAt) : MqttContent.Nothing;
            }

            if (levels.Length < 5)
            {
                return MqttContent.Nothing;
            }

            var (service, instance, path) = (levels[2], levels[3], levels[4]);
            if (Target(installation, service, instance, path) is not { } target)
            {
                return MqttContent.Nothing; // a value the model does not measure (most of Venus's)
            }

            var value = Value(payload, topic);
            target.Apply(value);
            return Publish(installation, target.Der, receivedAt);
        }
    }

    // The installation of a portal id: the configured one, or one learnt from its topics.
    private Installation? Find(string portalId)
    {
        if (_installations.TryGetValue(portalId, out var installation))
        {
            return installation;
        }

        var known = _portalId is null
            ? _installations.Count < MaxInstallations && Subjects.IsValidToken(portalId)
            : portalId == _portalId;
        if (!known)
        {
            return null;
        }

        installation = new Installation(portalId);
        _installations[portalId] = installation;
        return installation;
    }

    private MqttContent Publish(Installation installation, DerState der, long receivedAt)
    {
        if (der == installation.Pv)
        {
            installation.UpdatePv();
        }
        else if (der == installation.Grid)
        {
            installation.UpdateGridPower();
        }

        der.State ??= new TopicValuesDer(addressing.Address(installation.PortalId, der.Part), der.Type);
        der.State.Measurements.Clear();
        foreach (var (quantity, measurement) in der.Measurements)
        {
            der.State.Measurements[quantity] = measurement;
        }

        return der.State.Measurements.Count == 0
            ? MqttContent.Nothing
            : MqttContent.Of(new MqttReading(der.State.Reading(receivedAt, FormatName), null)); // Venus's values carry no time
    }

    // {"value": 936}, {"value": null} (no value now) or an empty payload (the device left the D-Bus).
    private static double? Value(ReadOnlySpan<byte> payload, string topic)
    {
        if (payload.IsEmpty)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(payload);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("value", out var value))
            {
                throw new TelemetryFormatException($"Venus's payload must be {{\"value\": …}} on {Excerpt.Of(topic, 64)}");
            }

            return value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Number when value.TryGetDouble(out var number) && double.IsFinite(number) => number,
                _ => throw new TelemetryFormatException($"Venus's value on {Excerpt.Of(topic, 64)} must be a number or null, not {Excerpt.Of(value.GetRawText(), 64)}"),
            };
        }
        catch (JsonException e)
        {
            throw TelemetryFormatException.Malformed(e);
        }
    }

    // What a topic updates: a measurement of one DER, or a part of a sum (PV). Null: nothing the model measures.
    private static Update? Target(Installation i, string service, string instance, string path) => (service, instance, path) switch
    {
        ("system", "0", _) => SystemPath(i, path),
        ("grid", _, _) => GridPath(i, path),
        ("battery", _, _) => BatteryPath(i, path),
        ("solarcharger", _, "Yield/Power") => Update.Part(i.Pv, i.SolarChargers, instance),
        ("solarcharger", _, "Yield/System") => Update.Part(i.Pv, i.PvEnergy, $"solarcharger/{instance}"),
        ("pvinverter", _, "Ac/Power") => Update.Part(i.Pv, i.PvInverters, instance),
        ("pvinverter", _, "Ac/Energy/Forward") => Update.Part(i.Pv, i.PvEnergy, $"pvinverter/{instance}"),
        _ => null,
    };

    private static Update? SystemPath(Installation i, string path) => path switch
    {
        "Ac/Grid/L1/Power" => Update.Part(i.Grid, i.GridPhases, "1"),
        "Ac/Grid/L2/Power" => Update.Part(i.Grid, i.GridPhases, "2"),
        "Ac/Grid/L3/Power" => Update.Part(i.Grid, i.GridPhases, "3"),
        "Ac/Grid/L1/Current" => Update.Of(i.Grid, Quantity.CurrentL1, Unit.Ampere),
        "Ac/Grid/L2/Current" => Update.Of(i.Grid, Quantity.CurrentL2, Unit.Ampere),
        "Ac/Grid/L3/Current" => Update.Of(i.Grid, Quantity.CurrentL3, Unit.Ampere),
        "Dc/Pv/Power" => Update.Part(i.Pv, i.SystemDcPv, "dc"),
        _ when IsAcPvPhase(path) => Update.Part(i.Pv, i.SystemAcPv, path),
        "Dc/Battery/Power" => Update.Of(i.Battery, Quantity.ActivePower, Unit.Watt), // + charging, as the hub's
        "Dc/Battery/Soc" => Update.Of(i.Battery, Quantity.StateOfCharge, Unit.Percent),
        "Dc/Battery/Voltage" => Update.Of(i.Battery, Quantity.DcVoltage, Unit.Volt),
        "Dc/Battery/Current" => Update.Of(i.Battery, Quantity.DcCurrent, Unit.Ampere),
        _ => null,
    };

    // Ac/PvOnGrid/L1/Power, Ac/PvOnOutput/L2/Power, Ac/PvOnGenset/L3/Power (not their Total, which would count twice).
    private static bool IsAcPvPhase(string path) =>
        path.Split('/') is ["Ac", "PvOnGrid" or "PvOnOutput" or "PvOnGenset", "L1" or "L2" or "L3", "Power"];

    private static Update? GridPath(Installation i, string path) => path switch
    {
        "Ac/L1/Power" => Update.Part(i.Grid, i.GridPhases, "1"),
        "Ac/L2/Power" => Update.Part(i.Grid, i.GridPhases, "2"),
        "Ac/L3/Power" => Update.Part(i.Grid, i.GridPhases, "3"),
        "Ac/Power" => Update.Part(i.Grid, i.GridTotal, "total"),
        "Ac/L1/Voltage" => Update.Of(i.Grid, Quantity.VoltageL1, Unit.Volt),
        "Ac/L2/Voltage" => Update.Of(i.Grid, Quantity.VoltageL2, Unit.Volt),
        "Ac/L3/Voltage" => Update.Of(i.Grid, Quantity.VoltageL3, Unit.Volt),
        "Ac/L1/Current" => Update.Of(i.Grid, Quantity.CurrentL1, Unit.Ampere),
        "Ac/L2/Current" => Update.Of(i.Grid, Quantity.CurrentL2, Unit.Ampere),
        "Ac/L3/Current" => Update.Of(i.Grid, Quantity.CurrentL3, Unit.Ampere),
        "Ac/Frequency" => Update.Of(i.Grid, Quantity.Frequency, Unit.Hertz),
        "Ac/Energy/Forward" => Update.Of(i.Grid, Quantity.EnergyImport, Unit.KilowattHour),
        "Ac/Energy/Reverse" => Update.Of(i.Grid, Quantity.EnergyExport, Unit.KilowattHour),
        _ => null,
    };

    private static Update? BatteryPath(Installation i, string path) => path switch
    {
        "Dc/0/Power" => Update.Of(i.Battery, Quantity.ActivePower, Unit.Watt),
        "Soc" => Update.Of(i.Battery, Quantity.StateOfCharge, Unit.Percent),
        "Soh" => Update.Of(i.Battery, Quantity.StateOfHealth, Unit.Percent),
        "Dc/0/Voltage" => Update.Of(i.Battery, Quantity.DcVoltage, Unit.Volt),
        "Dc/0/Current" => Update.Of(i.Battery, Quantity.DcCurrent, Unit.Ampere),
        "Dc/0/Temperature" => Update.Of(i.Battery, Quantity.Temperature, Unit.Celsius),
        "History/ChargedEnergy" => Update.Of(i.Battery, Quantity.EnergyCharged, Unit.KilowattHour),
        "History/DischargedEnergy" => Update.Of(i.Battery, Quantity.EnergyDischarged, Unit.KilowattHour),
        _ => null,
    };

    /// <summary>One measurement set from a topic, or one part of a sum the DER's reading is made from.</summary>
    private sealed class Update
    {
        private Quantity _quantity;
        private Unit _unit;
        private Dictionary<string, double>? _parts;
        private string _key = "";

        public required DerState Der { get; init; }

        public static Update Of(DerState der, Quantity quantity, Unit unit) => new() { Der = der, _quantity = quantity, _unit = unit };

        public static Update Part(DerState der, Dictionary<string, double> parts, string key) => new() { Der = der, _parts = parts, _key = key };

        public void Apply(double? value)
        {
            if (_parts is { } parts)
            {
                if (value is { } v)
                {
                    parts[_key] = v;
                }
                else
                {
                    parts.Remove(_key);
                }
            }
            else if (value is { } v)
            {
                Der.Measurements[_quantity] = new Measurement(_quantity, v, _unit);
            }
            else
            {
                Der.Measurements.Remove(_quantity);
            }
        }
    }

    /// <summary>One of an installation's DERs: what is known of it, and the reading state it publishes from.</summary>
    private sealed class DerState(string part, DerType type)
    {
        public string Part { get; } = part;

        public DerType Type { get; } = type;

        public Dictionary<Quantity, Measurement> Measurements { get; } = [];

        public TopicValuesDer? State { get; set; }

        public void Set(Quantity quantity, double? value, Unit unit)
        {
            if (value is { } v)
            {
                Measurements[quantity] = new Measurement(quantity, v, unit);
            }
            else
            {
                Measurements.Remove(quantity);
            }
        }
    }

    /// <summary>One Venus installation (portal id): its DERs and the parts their sums are made of.</summary>
    private sealed class Installation(string portalId)
    {
        public string PortalId { get; } = portalId;

        public DateTimeOffset? LastKeepalive { get; set; }

        /// <summary>Venus said its full publish is done: every part of a sum has arrived.</summary>
        public bool Complete { get; set; }

        public DerState Grid { get; } = new("grid", DerType.Meter);

        public DerState Pv { get; } = new("pv", DerType.Pv);

        public DerState Battery { get; } = new("battery", DerType.Battery);

        public Dictionary<string, double> GridPhases { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> GridTotal { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> SystemDcPv { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> SystemAcPv { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> SolarChargers { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> PvInverters { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> PvEnergy { get; } = new(StringComparer.Ordinal);

        // The grid's power is the sum of its phases (the system's or the meter's), or the meter's total without phases.
        public void UpdateGridPower()
        {
            Grid.Set(Quantity.ActivePowerL1, GridPhases.TryGetValue("1", out var l1) ? l1 : null, Unit.Watt);
            Grid.Set(Quantity.ActivePowerL2, GridPhases.TryGetValue("2", out var l2) ? l2 : null, Unit.Watt);
            Grid.Set(Quantity.ActivePowerL3, GridPhases.TryGetValue("3", out var l3) ? l3 : null, Unit.Watt);
            Grid.Set(Quantity.ActivePower, GridPhases.Count > 0 ? GridPhases.Values.Sum() : GridTotal.Count > 0 ? GridTotal.Values.Sum() : null, Unit.Watt);
        }

        // PV is − generation in the hub: DC (the system's, else the chargers') plus AC (the system's phases, else the inverters').
        public void UpdatePv()
        {
            var dc = SystemDcPv.Count > 0 ? SystemDcPv : SolarChargers;
            var ac = SystemAcPv.Count > 0 ? SystemAcPv : PvInverters;
            Pv.Set(Quantity.ActivePower, dc.Count + ac.Count > 0 ? -(dc.Values.Sum() + ac.Values.Sum()) : null, Unit.Watt);
            Pv.Set(Quantity.EnergyGenerated, Complete && PvEnergy.Count > 0 ? PvEnergy.Values.Sum() : null, Unit.KilowattHour);
        }
    }
}
