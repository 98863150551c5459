using Microsoft.Extensions.Options;
using Wattstream.Hub;
using Wattstream.Hub.Status;
using Wattstream.Mqtt.Broker;
using Wattstream.Mqtt.Publishing;
using Wattstream.Server.Access;
using Wattstream.Server.Composition;
using Wattstream.Streaming.Feeds;
using Wattstream.Streaming.Formats;

namespace Wattstream.Server.Mqtt;

/// <summary>
/// MQTT output when <c>Mqtt:Publish:Url</c> is set: the publisher (readings, site summaries and Home Assistant
/// discovery to one broker). Without it nothing of MQTT publishing is registered. The embedded broker for devices
/// when <c>Mqtt:Listen</c> is set (<see cref="AddMqttBroker"/>).
/// </summary>
public static class MqttSetup
{
    public static IServiceCollection AddWattstreamMqtt(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMqttBroker(configuration);
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

    /// <summary>
    /// The embedded broker when <c>Mqtt:Listen</c> is set. Every login must be a configured device's: a listener without
    /// devices would take anonymous publishes from whoever reaches it (beyond loopback, the network; on loopback, every
    /// local process, with nothing to map them to), so the start stops instead, as HTTP without auth does.
    /// </summary>
    private static IServiceCollection AddMqttBroker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<MqttBrokerOptions>(configuration, MqttBrokerOptions.SectionName);
        var options = configuration.GetSection(MqttBrokerOptions.SectionName).Get<MqttBrokerOptions>() ?? new MqttBrokerOptions();
        if (!options.Enabled)
        {
            return services;
        }

        if (options.Devices.Count == 0)
        {
            var listen = options.Listen!.ToString().TrimEnd('/');
            throw new OptionsValidationException(MqttBrokerOptions.SectionName, typeof(MqttBrokerOptions),
            [
                Binding.IsLoopback(listen)
                    ? $"Mqtt:Listen: {listen} has no device to accept: configure each device's login and place "
                      + "(--Mqtt:Devices:0:Username=<user> --Mqtt:Devices:0:Password=<password> --Mqtt:Devices:0:Org=<org> --Mqtt:Devices:0:Site=<site> "
                      + "--Mqtt:Devices:0:Format=<format>; docs/devices.md), or leave Mqtt:Listen unset. Anonymous devices are never accepted."
                    : $"Mqtt:Listen: {listen} is reachable from other machines, and no device credentials are configured: "
                      + "every device would publish into the hub. Configure each device's login (--Mqtt:Devices:0:Username=<user> "
                      + "--Mqtt:Devices:0:Password=<password> --Mqtt:Devices:0:Org=<org> --Mqtt:Devices:0:Site=<site> --Mqtt:Devices:0:Format=<format>; "
                      + "docs/devices.md and docs/security.md), or listen on loopback (mqtt://127.0.0.1:1883).",
            ]);
        }

        services.AddSingleton(sp => new MqttBroker(
            sp.GetRequiredService<IOptions<MqttBrokerOptions>>(),
            sp.GetRequiredService<TelemetryHub>(),
            sp.GetRequiredService<StatusBoard>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<MqttBroker>());
        return services;
    }
}
