namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>Durable pushes refused, by reason: <c>store_away</c> and <c>reserve_full</c> (503 <c>store_unavailable</c>), <c>busy</c> (429, every durable slot taken).</summary>
public sealed class DurablePushRefusals
{
    public const string StoreAway = "store_away";
    public const string ReserveFull = "reserve_full";
    public const string Busy = "busy";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _counts = new() { [StoreAway] = 0, [ReserveFull] = 0, [Busy] = 0 };

    public void Count(string reason) => _counts.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Counts => _counts;
}
