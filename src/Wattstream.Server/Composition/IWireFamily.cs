namespace Wattstream.Server.Composition;

/// <summary>
/// A family of clients the hub speaks to in their own wire format (whatwatt, HES, Novacore, DERSim, general): it owns
/// its encoders and routes. Registered with one call on <see cref="WattstreamBuilder"/>; mapped by <c>MapWattstream</c>.
/// </summary>
public interface IWireFamily
{
    /// <summary>The family's name (its OpenAPI tag).</summary>
    string Name { get; }

    void MapEndpoints(IEndpointRouteBuilder endpoints);
}
