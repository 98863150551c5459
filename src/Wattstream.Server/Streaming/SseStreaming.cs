using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Wattstream.Hub;

namespace Wattstream.Server.Streaming;

/// <summary>Runs a subscription as an SSE response: open the stream, keep it alive with heartbeats, pump until it ends.</summary>
public sealed class SseStreaming(IOptions<SseOptions> options, SseHeartbeats heartbeats, ILogger<SseStreaming> logger)
{
    public SseOptions Options { get; } = options.Value;

    /// <summary>Streams <paramref name="subscription"/> and disposes it at the end.</summary>
    public async Task RunAsync(HttpContext context, HubSubscription subscription, Func<HubEvent, ReadOnlyMemory<byte>> encode, ReadOnlyMemory<byte> firstFrame = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        using (subscription)
        {
            try
            {
                var connection = await SseConnection.StartAsync(context, Options);
                using var tracked = heartbeats.Track(connection);
                if (!firstFrame.IsEmpty)
                {
                    await connection.WriteFrameAsync(firstFrame);
                }

                await connection.PumpAsync(subscription, encode);
                logger.LogDebug("SSE stream {Path} ended after {Events} events ({Dropped} dropped)", context.Request.Path, connection.EventsWritten, subscription.Dropped);
            }
            catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException)
            {
                // The client went away mid-write.
            }
        }
    }
}
