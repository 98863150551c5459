namespace Wattstream.Hub;

/// <summary>
/// Turns an event into the bytes one family of clients expects (a whatwatt SSE frame, a Novacore reading, …).
/// An encoder runs at most once per event however many subscribers use it: see <see cref="HubEvent.GetEncoded"/>.
/// Encoders are long-lived singletons; the event caches their output by reference.
/// </summary>
public abstract class WireEncoder
{
    /// <summary>A short name for logs and metrics, e.g. "whatwatt-sse".</summary>
    public abstract string Name { get; }

    /// <summary>Whether this format has a shape for the event (a whatwatt payload exists for meters only).</summary>
    public abstract bool CanEncode(HubEvent hubEvent);

    /// <summary>Encodes the event. Called once per event per encoder; the result is shared, so it must not be changed afterwards.</summary>
    protected internal abstract byte[] Encode(HubEvent hubEvent);

    public override string ToString() => Name;
}
