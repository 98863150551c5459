using Wattstream.Streaming.Access;
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
    public WattstreamBuilder AddPayloadFormat<TFamily>(Func<TFamily, PayloadFormat> format, bool isDefault = false, Func<TFamily, Func<TelemetryScope, PayloadFormat>>? forScope = null)
        where TFamily : class, IWireFamily
    {
        Services.AddSingleton(sp =>
        {
            var family = sp.GetRequiredService<TFamily>();
            return new PayloadFormatRegistration(format(family), isDefault, forScope?.Invoke(family));
        });
        return this;
    }
}
