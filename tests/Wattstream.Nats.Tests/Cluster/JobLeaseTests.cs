using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Wattstream.Nats.Cluster;

namespace Wattstream.Nats.Tests;

/// <summary>
/// Job leases on a real nats-server: several holders (each with its own connection, as hub nodes have) register the same
/// jobs; each job runs on its rendezvous owner only, and moves when a holder leaves, is killed or joins.
/// </summary>
public sealed class JobLeaseTests : IAsyncLifetime
{
    private static readonly string[] Keys = [.. Enumerable.Range(0, 30).Select(i => $"source:meter-{i}")];

    // Long enough that a stall of the test machine (CI runs the test projects side by side on two cores) does not
    // outlast a job's hold of two thirds of it: the tests count starts exactly, and a job stopped for a late renewal
    // (the safe thing) would start again and count twice.
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(6);
    private readonly Runs _runs = new();
    private NatsServer _nats = null!;

    public async Task InitializeAsync() => _nats = await NatsServer.StartAsync();

    public async Task DisposeAsync() => await _nats.DisposeAsync();

    /// <summary>Which holder runs which job now, every start, and any start while another holder ran the same job.</summary>
    private sealed class Runs
    {
        public ConcurrentDictionary<string, string> Running { get; } = new();

        public ConcurrentQueue<(string Key, string Holder)> Starts { get; } = new();

        public ConcurrentQueue<string> Overlaps { get; } = new();

        public Func<CancellationToken, Task> Job(string key, string holder) => async token =>
        {
            Starts.Enqueue((key, holder));
            if (!Running.TryAdd(key, holder))
            {
                Overlaps.Enqueue($"{key} started on {holder} while {Running.GetValueOrDefault(key)} ran it");
                return;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            finally
            {
                Running.TryRemove(new KeyValuePair<string, string>(key, holder));
            }
        };

        /// <summary>True when every key runs exactly on its rendezvous owner among <paramref name="nodes"/>.</summary>
        public bool RunOnOwners(params string[] nodes) =>
            Keys.All(k => Running.TryGetValue(k, out var holder) && holder == Rendezvous.Owner(k, nodes));
    }

    /// <summary>A node's share of the cluster: its own connection, membership and leases, and the 30 jobs registered.</summary>
    private sealed class Holder : IAsyncDisposable
    {
        private Holder(string name, NatsConnection connection, ClusterCoordinator coordinator)
        {
            Name = name;
            Connection = connection;
            Coordinator = coordinator;
        }

        public string Name { get; }

        public NatsConnection Connection { get; }

        public ClusterCoordinator Coordinator { get; }

        public static async Task<Holder> JoinAsync(string url, string name, TimeSpan ttl)
        {
            var connection = new NatsConnection(new NatsOpts { Url = url, Name = name });
            await connection.ConnectAsync();
            return new Holder(name, connection, await ClusterCoordinator.StartAsync(connection, name, ttl, NullLogger.Instance, CancellationToken.None));
        }

        public async Task RegisterAsync(Runs runs)
        {
            foreach (var key in Keys)
            {
                await Coordinator.Leases.RunWhileOwnedAsync(key, runs.Job(key, Name));
            }
        }

        /// <summary>As kill -9 would: the connection is gone and nothing is released.</summary>
        public ValueTask KillAsync() => Connection.DisposeAsync();

        public async ValueTask DisposeAsync()
        {
            await Coordinator.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }

    private async Task<Holder[]> StartAsync(TimeSpan ttl, params string[] names)
    {
        var holders = new List<Holder>();
        foreach (var name in names)
        {
            holders.Add(await Holder.JoinAsync(_nats.Url, name, ttl));
        }

        // All are members before any job is registered, so each takes only its share from the start.
        foreach (var holder in holders)
        {
            await holder.RegisterAsync(_runs);
        }

        return [.. holders];
    }

    [Fact]
    public async Task Three_holders_each_run_their_share_of_thirty_jobs_and_together_all_of_them_once()
    {
        var holders = await StartAsync(Ttl, "node-a", "node-b", "node-c");
        try
        {
            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b", "node-c"), "every job runs on its owner");

            Assert.Empty(_runs.Overlaps);
            Assert.All(holders, h => Assert.InRange(h.Coordinator.Leases.Owned.Count, 1, 29));
            Assert.Equal(Keys.Order(StringComparer.Ordinal), holders.SelectMany(h => h.Coordinator.Leases.Owned).Order(StringComparer.Ordinal));
            var leases = await holders[0].Coordinator.Leases.LeasesAsync(CancellationToken.None);
            Assert.Equal(
                Keys.Select(k => $"{k}={Rendezvous.Owner(k, ["node-a", "node-b", "node-c"])}").Order(StringComparer.Ordinal),
                leases.Select(l => $"{l.Key}={l.Value}").Order(StringComparer.Ordinal));
            Assert.Equal(30, _runs.Starts.Count); // each started once: none was taken and given back
            Assert.Equal(3, holders[2].Coordinator.Membership.LiveNodes);
        }
        finally
        {
            await Task.WhenAll(holders.Select(h => h.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task A_holder_stopping_gracefully_hands_its_jobs_on_at_once_not_after_the_ttl()
    {
        // A long TTL: had the leases only lapsed, the jobs would move 20 s after the stop at the earliest (the last
        // renewal is at most a third of the TTL old), past the wait below. They move because they were released.
        var holders = await StartAsync(TimeSpan.FromSeconds(30), "node-a", "node-b", "node-c");
        try
        {
            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b", "node-c"), "every job runs on its owner", TimeSpan.FromSeconds(30));
            var leaving = holders[2].Coordinator.Leases.Owned;

            await holders[2].DisposeAsync();
            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b"), "node-c's jobs run on the other two", TimeSpan.FromSeconds(18));

            Assert.Empty(_runs.Overlaps);
            Assert.Equal(30 + leaving.Count, _runs.Starts.Count); // only node-c's jobs moved
            var members = await holders[0].Coordinator.Membership.LiveNodesAsync(CancellationToken.None);
            Assert.Equal(new[] { "node-a", "node-b" }, members);
        }
        finally
        {
            await Task.WhenAll(holders.Select(h => h.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task A_killed_holders_jobs_move_after_its_leases_lapse_and_never_run_twice()
    {
        var holders = await StartAsync(Ttl, "node-a", "node-b", "node-c");
        try
        {
            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b", "node-c"), "every job runs on its owner");
            var killed = holders[2].Coordinator.Leases.Owned;
            Assert.NotEmpty(killed);

            await holders[2].KillAsync();
            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b"), "node-c's jobs run on the other two", 3 * Ttl + TimeSpan.FromSeconds(5));

            Assert.True(_runs.Overlaps.IsEmpty, string.Join('\n', _runs.Overlaps));
            Assert.Empty(holders[2].Coordinator.Leases.Owned); // it could not renew, so it stopped them
            Assert.Equal(killed.Order(StringComparer.Ordinal), _runs.Starts.Skip(30).Select(s => s.Key).Order(StringComparer.Ordinal));
        }
        finally
        {
            await Task.WhenAll(holders.Select(h => h.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task A_holder_joining_takes_its_share_and_nothing_moves_between_the_others()
    {
        var holders = (await StartAsync(Ttl, "node-a", "node-b")).ToList();
        try
        {
            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b"), "every job runs on its owner");
            holders.AddRange(await StartAsync(Ttl, "node-c"));

            await Eventually.UntilAsync(() => _runs.RunOnOwners("node-a", "node-b", "node-c"), "node-c runs its share");

            Assert.Empty(_runs.Overlaps);
            var share = Keys.Where(k => Rendezvous.Owner(k, ["node-a", "node-b", "node-c"]) == "node-c").Order(StringComparer.Ordinal).ToList();
            Assert.InRange(share.Count, 4, 16); // about a third of 30
            Assert.Equal(share, holders[2].Coordinator.Leases.Owned);
            // Bounded moves: after the first 30 starts, only node-c's share started again, each once, on node-c.
            Assert.Equal(share, _runs.Starts.Skip(30).Select(s => s.Key).Order(StringComparer.Ordinal));
            Assert.All(_runs.Starts.Skip(30), s => Assert.Equal("node-c", s.Holder));
        }
        finally
        {
            await Task.WhenAll(holders.Select(h => h.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task A_job_whose_lease_is_taken_from_under_it_stops_and_does_not_come_back_while_the_other_holds_it()
    {
        await using var holder = await Holder.JoinAsync(_nats.Url, "node-a", TimeSpan.FromSeconds(3));
        var stopped = new TaskCompletionSource();
        var starts = 0;
        await using var registration = await holder.Coordinator.Leases.RunWhileOwnedAsync("site:acme/plant", async token =>
        {
            Interlocked.Increment(ref starts);
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stopped.TrySetResult();
        });
        await Eventually.UntilAsync(() => holder.Coordinator.Leases.Owned.Count == 1, "the job runs");

        // Another writer overwrites the lease: the holder's next compare-and-set fails, so it stops the job.
        await using var other = new NatsConnection(new NatsOpts { Url = _nats.Url });
        var bucket = await other.CreateKeyValueStoreContext().GetStoreAsync(ClusterBuckets.Leases);
        await bucket.PutAsync(ClusterBuckets.Encode("site:acme/plant"), "intruder");
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(holder.Coordinator.Leases.Owned);
        Assert.Equal("intruder", (await bucket.GetEntryAsync<string>(ClusterBuckets.Encode("site:acme/plant"))).Value);
        Assert.Equal(1, Volatile.Read(ref starts)); // not started again over the intruder's lease
    }

    [Fact]
    public async Task Disposing_a_registration_stops_the_job_and_deletes_its_lease()
    {
        await using var holder = await Holder.JoinAsync(_nats.Url, "node-a", TimeSpan.FromSeconds(30));
        var cancelled = new TaskCompletionSource();
        var registration = await holder.Coordinator.Leases.RunWhileOwnedAsync("source:meter-1", async token =>
        {
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancelled.TrySetResult();
        });
        await Eventually.UntilAsync(() => holder.Coordinator.Leases.Owned.Count == 1, "the job runs");
        Assert.Equal("node-a", (await holder.Coordinator.Leases.LeasesAsync(CancellationToken.None))["source:meter-1"]);

        await registration.DisposeAsync();

        Assert.True(cancelled.Task.IsCompletedSuccessfully);
        Assert.Empty(holder.Coordinator.Leases.Owned);
        Assert.Empty(await holder.Coordinator.Leases.LeasesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_job_its_owner_does_not_carry_runs_on_a_node_that_does_and_moves_to_the_owner_once_it_claims_it()
    {
        var holders = await StartAsync(Ttl, "node-a", "node-b"); // the 30 shared jobs too: they must not move
        try
        {
            // A source configured on node-b only, whose owner by rendezvous is node-a.
            var key = Enumerable.Range(0, 100).Select(i => $"source:only-b-{i}").First(k => Rendezvous.Owner(k, ["node-a", "node-b"]) == "node-a");
            await holders[1].Coordinator.Leases.RunWhileOwnedAsync(key, _runs.Job(key, "node-b"));
            await Eventually.UntilAsync(() => _runs.Running.GetValueOrDefault(key) == "node-b", "node-b runs the job node-a does not carry", 3 * Ttl);

            // node-a comes to carry it (its configuration reloaded, or a rolling upgrade): it claims the job, node-b hands it on.
            await holders[0].Coordinator.Leases.RunWhileOwnedAsync(key, _runs.Job(key, "node-a"));
            await Eventually.UntilAsync(() => _runs.Running.GetValueOrDefault(key) == "node-a", "the job moves to its owner", 3 * Ttl);

            Assert.True(_runs.Overlaps.IsEmpty, string.Join('\n', _runs.Overlaps));
            Assert.Equal(new[] { "node-b", "node-a" }, _runs.Starts.Where(s => s.Key == key).Select(s => s.Holder));
            Assert.True(_runs.RunOnOwners("node-a", "node-b"));
            Assert.Equal(30 + 2, _runs.Starts.Count); // nothing else moved
        }
        finally
        {
            await Task.WhenAll(holders.Select(h => h.DisposeAsync().AsTask()));
        }
    }
}
