using Microsoft.Extensions.Options;

namespace Wattstream.Server.Composition;

internal static class ValidatedOptions
{
    /// <summary>
    /// Binds a settings section and checks its data annotations when the host starts (before that, with
    /// <c>config check</c> and <c>serve</c>'s own check), so a bad value stops the start with a message naming it.
    /// The section must be in <see cref="Settings.WattstreamSettings"/>, whose check refuses keys it does not know.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class
    {
        if (!Settings.WattstreamSettings.Registry.Binds(section, typeof(T)))
        {
            throw new InvalidOperationException($"The section {section} ({typeof(T).Name}) is bound but not registered in WattstreamSettings: add it there, or the settings check refuses its keys.");
        }

        return services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateDataAnnotations().ValidateOnStart();
    }
}
