using Wattstream.Hub.Status;
using Wattstream.Storage;

namespace Wattstream.Server.Storage;

/// <summary>
/// At start, makes the DERs history holds known before they report again: a meter that has not reported since the
/// restart is listed (status <c>UNKNOWN</c>, with when it was last seen), its history can be queried and a client
/// can resume its stream from history.
/// </summary>
/// <remarks>Runs in <see cref="StartingAsync"/>, after the history writer's (which creates the schema), before any source starts.</remarks>
public sealed class StoredDerDirectory(IReadingStore store, StatusBoard board, ILogger<StoredDerDirectory> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken); // idempotent: whichever start-up step comes first creates the schema
        var ders = await store.ListDersAsync(cancellationToken);
        foreach (var stored in ders)
        {
            DateTimeOffset? lastSeen = stored.LastTimestamp is { } ts ? DateTimeOffset.FromUnixTimeMilliseconds(ts) : null;
            board.Remember(stored.Der, stored.Type, lastSeen, "known from history; not heard from since the hub started");
        }

        if (ders.Count > 0)
        {
            logger.LogInformation("History knows {Ders} DERs from earlier runs", ders.Count);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
