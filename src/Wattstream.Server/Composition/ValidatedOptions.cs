using Microsoft.Extensions.Options;

namespace Wattstream.Server.Composition;

internal static class ValidatedOptions
{
    /// <summary>
    /// Binds a settings section and checks its data annotations when the host starts (before that, with
    /// <c>config check</c> and <c>serve</c>'s own check), so a bad value stops the start with a message naming it.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class =>
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateDataAnnotations().ValidateOnStart();
}
