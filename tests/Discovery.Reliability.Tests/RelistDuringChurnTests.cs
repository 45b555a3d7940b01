using System.Collections.Concurrent;
using System.Diagnostics;

namespace Discovery.Reliability.Tests;

/// <summary>
/// Scenario 3: the watch is cut and its resourceVersion compacted away (or answered 410 Gone) again and again while the
/// endpoints churn. The Service always has exactly six ready endpoints in two slices of three; a reader that ever sees a
/// different number saw an empty or half-built set.
/// </summary>
public sealed class RelistDuringChurnTests
{
    private const int PerSlice = 3;

    [Fact]
    public async Task Readers_never_see_an_empty_or_partial_set_across_410_and_compaction()
    {
        var duration = RunMode.Pick(TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(3));
        var figures = new Figures("3. 410 Gone / compaction during churn");
        const string service = "relist";
        var key = Cluster.Key(service);

        await using var emulator = await Cluster.StartEmulatorAsync(o => o.RetainedEvents = 50);
        var port = 8080;
        string Address(int slice, int i) => PodPool.Address(3, (slice * 100) + i);
        emulator.ApplyServiceWithEndpoints(Cluster.Namespace, service, port, [], withEndpoints: false);
        emulator.Delete<k8s.Models.V1EndpointSlice>(Cluster.Namespace, service + "-emulated");
        var generation = new int[2];
        void Rotate(int slice)
        {
            var g = generation[slice]++;
            Cluster.SetEndpoints(emulator, service, port, Enumerable.Range(0, PerSlice).Select(i => Address(slice, ((g + i) % 50) + 1)), slice == 0 ? "-a" : "-b");
        }

        Rotate(0);
        Rotate(1);
        await using var stack = DiscoveryStack.Create(emulator.CreateClient(), o =>
        {
            o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(50);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(500);
        });

        var badVersions = new ConcurrentDictionary<long, int>();
        long published = 0;
        using var subscription = stack.Resolver.Subscribe(key, s =>
        {
            Interlocked.Increment(ref published);
            if (s.UsableEndpoints.Length != 2 * PerSlice)
            {
                badVersions.TryAdd(s.Version, s.UsableEndpoints.Length);
            }
        });
        var first = await stack.Resolver.GetSnapshotAsync(key, TestContext.Current.CancellationToken);
        Assert.Equal(2 * PerSlice, first.UsableEndpoints.Length);
        emulator.ClearRequests();

        using var stop = new CancellationTokenSource(duration);
        long reads = 0;
        long badReads = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < 200; i++)
                {
                    Interlocked.Increment(ref reads);
                    if (!stack.Resolver.TryGetSnapshot(key, out var s) || s.UsableEndpoints.Length != 2 * PerSlice)
                    {
                        Interlocked.Increment(ref badReads);
                        if (s is not null)
                        {
                            badVersions.TryAdd(s.Version, s.UsableEndpoints.Length);
                        }
                    }
                }

                await Task.Delay(1);
            }
        })).ToArray();

        var changes = 0;
        var churn = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    Rotate(changes++ % 2);
                }
            }
            catch (OperationCanceledException)
            {
                // Duration reached.
            }
        });

        var faults410 = 0;
        var compactions = 0;
        var faults = Task.Run(async () =>
        {
            var round = 0;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(300), stop.Token);
                    if (round++ % 2 == 0)
                    {
                        // Compaction: the resume resourceVersion falls out of the window, the next watch gets 410.
                        // (The change comes first: a compaction at the revision the client already has is harmless.)
                        emulator.AdvanceResourceVersion();
                        emulator.CompactNow();
                        emulator.Faults.DropWatches();
                        compactions++;
                    }
                    else
                    {
                        emulator.Faults.FailNextWatchWith410();
                        emulator.Faults.DropWatches();
                        faults410++;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Duration reached.
            }
        });

        await Task.WhenAll([churn, faults, .. readers]).WaitAsync(duration + TimeSpan.FromSeconds(30));

        // After the storm, the set converges to what the API holds.
        var expected = emulator.List<k8s.Models.V1EndpointSlice>(Cluster.Namespace)
            .Where(s => s.Metadata.Name.StartsWith(service, StringComparison.Ordinal))
            .SelectMany(s => s.Endpoints.Select(e => e.Addresses[0])).Order().ToArray();
        var converged = await Eventually.UntilAsync(
            () => stack.Resolver.TryGetSnapshot(key, out var s) && s.UsableEndpoints.Select(e => e.Address).Order().SequenceEqual(expected),
            TimeSpan.FromSeconds(15));
        var requests = emulator.Requests;
        var lists = requests.Count(r => !r.IsWatch && r.Path.Contains("endpointslices", StringComparison.Ordinal));

        figures
            .Add("duration", duration)
            .Add("endpoint changes", changes)
            .Add("compactions + dropped watches / injected 410s + dropped watches", $"{compactions} / {faults410}")
            .Add("EndpointSlice re-lists", lists)
            .Add("API requests", string.Join(", ", requests.GroupBy(r => (r.IsWatch ? "watch " : "list ") + r.Path.Split('/')[^1]).Select(g => $"{g.Count()} {g.Key}")))
            .Add("snapshots published", Interlocked.Read(ref published))
            .Add("reader lookups", Interlocked.Read(ref reads))
            .Add("lookups that saw an empty or partial set", Interlocked.Read(ref badReads))
            .Add("snapshot versions with an empty or partial set", badVersions.IsEmpty ? "0" : $"{badVersions.Count}: " + string.Join(", ", badVersions.Take(10).Select(b => $"v{b.Key}={b.Value}")))
            .Add("converged to the API's set afterwards", converged)
            .Publish();

        Assert.Empty(badVersions);
        Assert.Equal(0, Interlocked.Read(ref badReads));
        Assert.True(lists > 0, "no re-list happened: the scenario did not exercise 410");
        Assert.True(converged, "the set did not converge to the API's after the faults stopped");
    }
}
