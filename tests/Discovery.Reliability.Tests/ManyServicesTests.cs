using Microsoft.Extensions.Time.Testing;

namespace Discovery.Reliability.Tests;

/// <summary>Scenario 7: thousands of Services watched lazily, half of them going idle: idle eviction closes their watches and gives the memory back.</summary>
public sealed class ManyServicesTests
{
    [Fact]
    public async Task Idle_watchers_are_evicted_their_watches_closed_and_memory_returned()
    {
        var count = RunMode.Pick(200, 1000, 2000);
        var figures = new Figures("7. Many services, half idle");
        var idleTimeout = TimeSpan.FromMinutes(1);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);

        await using var emulator = await Cluster.StartEmulatorAsync(o => o.RecordedRequestLimit = 100);
        var names = Enumerable.Range(0, count).Select(i => $"many-{i:D4}").ToArray();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            emulator.ApplyServiceWithEndpoints(Cluster.Namespace, name, 8080, [PodPool.Address(7, i % 200)], withEndpoints: false);
        }

        var memoryBefore = RuntimeProbe.ManagedMemoryAfterFullGc();
        // Per-Service watches, whose eviction closes streams and frees their memory: the default WatchScope.Auto would
        // move this namespace (more than 20 Services) onto one shared watch, which stays open while any Service is used.
        await using var stack = DiscoveryStack.Create(
            emulator.CreateClient(),
            o =>
            {
                o.IdleTimeout = idleTimeout;
                o.WatchScope = WatchScope.Service;
            },
            timeProvider: time);
        var started = DateTime.UtcNow;
        using (var gate = new SemaphoreSlim(64))
        {
            await Task.WhenAll(names.Select(async name =>
            {
                await gate.WaitAsync();
                try
                {
                    await stack.Resolver.GetSnapshotAsync(Cluster.Key(name));
                }
                finally
                {
                    gate.Release();
                }
            })).WaitAsync(TimeSpan.FromSeconds(120));
        }

        var syncAll = DateTime.UtcNow - started;
        await Eventually.True(() => emulator.OpenWatchCount >= 2 * count, $"all {2 * count} watches are open", TimeSpan.FromSeconds(60));
        var memoryWatching = RuntimeProbe.ManagedMemoryAfterFullGc();
        var active = names.Where((_, i) => i % 2 == 0).ToArray();

        // Five sweeps of 15 s of fake time: the active half is used before each, the idle half never.
        for (var step = 0; step < 5; step++)
        {
            foreach (var name in active)
            {
                Assert.True(stack.Resolver.TryGetSnapshot(Cluster.Key(name), out _));
            }

            time.Advance(TimeSpan.FromSeconds(15));
        }

        var evictionStarted = DateTime.UtcNow;
        var closed = await Eventually.UntilAsync(() => emulator.OpenWatchCount <= 2 * active.Length, TimeSpan.FromSeconds(60));
        var closeTook = DateTime.UtcNow - evictionStarted;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var memoryAfter = RuntimeProbe.ManagedMemoryAfterFullGc();
        var watchers = stack.Resolver.GetWatcherStatuses();
        var activeStillSynced = active.All(n => stack.Resolver.TryGetSnapshot(Cluster.Key(n), out _));

        var held = memoryWatching - memoryBefore;
        var returned = memoryWatching - memoryAfter;
        figures
            .Add("services watched", count)
            .Add("time to sync all (64 at a time)", syncAll)
            .Add("open watches on the API, all in use", 2 * count)
            .Add("watchers after the idle half went past IdleTimeout (1 min, fake clock)", watchers.Count)
            .Add("open watches after eviction", emulator.OpenWatchCount)
            .Add("time for the evicted watches to close", closed ? closeTook : "not closed")
            .Add("active half still served from memory", activeStillSynced)
            .Add("managed memory (whole process incl. emulator): before → all watched → half evicted", $"{Figures.Megabytes(memoryBefore)} → {Figures.Megabytes(memoryWatching)} → {Figures.Megabytes(memoryAfter)}")
            .Add("memory held by watching / returned by eviction", $"{Figures.Megabytes(held)} / {Figures.Megabytes(returned)} ({(held > 0 ? 100.0 * returned / held : 0):0}%)")
            .Publish();

        Assert.True(closed, $"{emulator.OpenWatchCount} watches still open; expected {2 * active.Length}");
        Assert.Equal(active.Length, watchers.Count);
        Assert.True(activeStillSynced);
        Assert.True(returned > held / 4, "eviction returned less than a quarter of the memory watching held");
    }
}
