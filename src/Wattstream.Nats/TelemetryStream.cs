using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Wattstream.Nats;

/// <summary>The JetStream stream that keeps every telemetry subject (<see cref="NatsOptions.Stream"/>): one definition for the publisher and the cluster.</summary>
public static class TelemetryStream
{
    /// <summary>Creates the stream or brings its settings up to date; a server without JetStream is a clear error.</summary>
    public static async Task<StreamInfo> EnsureAsync(INatsConnection connection, NatsOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var js = new NatsJSContext((NatsConnection)connection);
        var config = new StreamConfig(options.Stream, [NatsSubjects.AllTelemetry])
        {
            Storage = StreamConfigStorage.File,
            MaxAge = options.Retention,
            DuplicateWindow = options.DuplicateWindow,
            NumReplicas = options.Replicas,
            Description = "Wattstream: every accepted reading, Novacore reading JSON",
        };
        try
        {
            var stream = await JetStreamApi.SetUpAsync(c => js.CreateOrUpdateStreamAsync(config, c), cancellationToken);
            return stream.Info;
        }
        catch (Exception e) when (e is NatsNoRespondersException or NatsJSApiNoResponseException or NatsJSApiException or NatsJSException)
        {
            throw new InvalidOperationException(
                $"Nats: the server at {NatsConnections.SafeUrl(options.Url!)} did not accept the JetStream stream {options.Stream} ({e.Message}). Start nats-server with JetStream (-js), "
                + "or give the hub's NATS user the rights to manage that stream.",
                e);
        }
    }

    /// <summary>
    /// The stream's identity as an event-id epoch: its creation time in ms. A stream deleted and made again is another
    /// epoch, so ids of the old one are recognised as such.
    /// </summary>
    public static long Epoch(StreamInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Created.ToUnixTimeMilliseconds();
    }
}
