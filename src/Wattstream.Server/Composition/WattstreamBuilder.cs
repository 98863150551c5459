using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Composition;

/// <summary>
/// Returned by <see cref="WattstreamServices.AddWattstream"/>: wire families register themselves on it, e.g.
/// <c>services.AddWattstream(configuration).AddWhatwatt().AddHes().AddNovacore().AddDerSim().AddGeneral()</c>.
/// </summary>
public sealed class WattstreamBuilder(IServiceCollection services, IConfiguration configuration)
{
    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;

    /// <summary>Registers a wire family (a singleton, mapped by <c>MapWattstream</c>).</summary>
    public WattstreamBuilder AddFamily<TFamily>()
        where TFamily : class, IWireFamily
    {
        Services.AddSingleton<TFamily>();
        Services.AddSingleton<IWireFamily>(sp => sp.GetRequiredService<TFamily>());
        return this;
    }

    /// <summary>Offers a family's payload format to transports that let the client choose one (<c>/ws</c>).</summary>
    public WattstreamBuilder AddPayloadFormat<TFamily>(Func<TFamily, PayloadFormat> format, bool isDefault = false)
        where TFamily : class, IWireFamily
    {
        Services.AddSingleton(sp => new PayloadFormatRegistration(format(sp.GetRequiredService<TFamily>()), isDefault));
        return this;
    }
}
