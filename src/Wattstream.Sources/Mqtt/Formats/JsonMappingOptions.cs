namespace Wattstream.Sources.Mqtt.Formats;

/// <summary>
/// One mapping of a <c>Format=json</c> mqtt source (<c>Sources:N:Mappings:M:…</c>): the topics it reads, the DER they
/// are, and where each of the DER's values is in a message.
/// </summary>
public sealed class JsonMappingOptions
{
    /// <summary>The topic filter (<c>home/+/power</c>); it is subscribed to unless the source sets <c>Topics</c>.</summary>
    public string? Topic { get; set; }

    /// <summary>The DER's type: <c>meter</c>, <c>pv</c>, <c>battery</c> or <c>v2x_charger</c>.</summary>
    public string? Type { get; set; }

    /// <summary>
    /// The device id; <c>{1}</c>, <c>{2}</c>, … stand for what the filter's first, second, … <c>+</c> matched. Default:
    /// the source's <c>Device</c>, else its id.
    /// </summary>
    public string? Device { get; set; }

    /// <summary>The DER id, with the same <c>{n}</c> placeholders. Default: the device id.</summary>
    public string? Der { get; set; }

    /// <summary>The values, by the model's quantity (<c>ActivePower</c>, <c>EnergyImport</c>, <c>StateOfCharge</c>, …).</summary>
    public Dictionary<string, JsonFieldOptions> Fields { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Where one value is in a message, and what it is in (<c>Sources:N:Mappings:M:Fields:&lt;Quantity&gt;:…</c>).</summary>
public sealed class JsonFieldOptions
{
    /// <summary>
    /// A path into the JSON payload: members by name, array items by index (<c>ENERGY.Power</c>, <c>data[0].p</c>);
    /// <c>$</c> is the whole payload (a bare number).
    /// </summary>
    public string? Path { get; set; }

    /// <summary>The value's unit as the device sends it: <c>W</c>, <c>kW</c>, <c>Wh</c>, <c>kWh</c>, <c>V</c>, <c>A</c>, <c>Hz</c>, <c>%</c>, …</summary>
    public string? Unit { get; set; }

    /// <summary>A factor the value is multiplied by first: <c>-1</c> turns a sign around (PV production to the hub's − generation).</summary>
    public double Scale { get; set; } = 1;
}
