using NATS.Client.JetStream;

namespace Wattstream.Nats;

/// <summary>Calls to JetStream's API that set up streams and buckets.</summary>
public static class JetStreamApi
{
    private const int Attempts = 5;

    // JetStream's error codes for a create that lost a race to another node creating the same stream or bucket, and for
    // a NATS cluster whose servers have not all joined yet (no peers to place the replicas on).
    private const int NoSuitablePeers = 10005;
    private const int StreamNameInUse = 10058;
    private const int SubjectsOverlap = 10065;

    /// <summary>
    /// Runs <paramref name="call"/> (a create-or-update of a stream or bucket), asking again (after 1, 2, 3, 4 s) while
    /// JetStream does not answer or the call lost a race. Nodes starting together make their streams and buckets at the
    /// same moment: a clustered JetStream may not answer while it places a replicated one, and a create may find another
    /// node's creation of the same one under way (<c>stream name already in use</c>, <c>subjects overlap</c>), and a NATS
    /// cluster just started may not yet have the servers to place the replicas on (<c>no suitable peers for
    /// placement</c>); asked again, it finds the stream made, or the peers there. Any other error, or the same after five asks, is the caller's.
    /// </summary>
    public static async Task<T> SetUpAsync<T>(Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call(cancellationToken);
            }
            catch (Exception e) when (attempt < Attempts && IsTransient(e))
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    private static bool IsTransient(Exception e) =>
        e is NatsJSApiNoResponseException || (e is NatsJSApiException api && api.Error.ErrCode is NoSuitablePeers or StreamNameInUse or SubjectsOverlap);
}
