using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Mqtt.Publishing;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Mqtt;

/// <summary>
/// MQTT output when <c>Mqtt:Publish:Url</c> is set: the publisher (readings, site summaries and Home Assistant
/// discovery to one broker). Without it nothing of MQTT publishing is registered.
/// </summary>
public static class MqttSetup
{
    public static IServiceCollection AddWattstreamMqtt(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<MqttPublishOptions>(configuration, MqttPublishOptions.SectionName);
        var options = configuration.GetSection(MqttPublishOptions.SectionName).Get<MqttPublishOptions>() ?? new MqttPublishOptions();
        if (!options.Enabled)
        {
            return services;
        }

        RefuseEveryOrgUnlessPrivate(options, configuration);
        services.AddSingleton(sp => new MqttPublisher(
            sp.GetRequiredService<IOptions<MqttPublishOptions>>(),
            sp.GetRequiredService<TelemetryHub>(),
            sp.GetRequiredService<PayloadFormats>(),
            sp.GetRequiredService<FeedRegistry>().Find(Feeds.SummaryFeed.Kind),
            sp.GetRequiredService<Wattstream.Hub.Jobs.IJobOwnership>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<MqttPublisher>());
        return services;
    }

    /// <summary>
    /// Publishing every org without naming them is the default of one household's hub only: no tokens, loopback
    /// addresses alone. A hub that serves several callers must say which orgs' readings leave for the broker.
    /// </summary>
    private static void RefuseEveryOrgUnlessPrivate(MqttPublishOptions options, IConfiguration configuration)
    {
        if (options.Orgs.Count > 0 || (!Binding.TokensRequired(configuration) && Binding.LoopbackOnly(configuration)))
        {
            return;
        }

        throw new OptionsValidationException(MqttPublishOptions.SectionName, typeof(MqttPublishOptions),
        [
            "Mqtt:Publish:Orgs: name the orgs whose readings go to the MQTT broker (--Mqtt:Publish:Orgs:0=<org>, or '*' for every org): "
            + "this hub requires tokens or listens beyond loopback, so publishing every org is not assumed.",
        ]);
    }
}
