using Discovery.Internal;
using Discovery.Testing;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>
/// <see cref="WatchScope.Auto"/> (the default): per-Service watches until more than
/// <see cref="KubernetesDiscoveryOptions.NamespaceWatchThreshold"/> Services of a namespace are in use, then one shared
/// namespace watch that the per-Service watchers move onto without their readers seeing any change.
/// </summary>
public class AutoWatchScopeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServiceKey Numbered(int i) => TestResolver.Key($"svc-{i:D3}");

    private static TestResolver Auto(int threshold) => new(o => o.NamespaceWatchThreshold = threshold);

    private static void SeedNumbered(FakeKubernetesApi api, int count)
    {
        for (var i = 0; i < count; i++)
        {
            api.Apply(Fixtures.Service($"svc-{i:D3}", ("http", 80, 8080)));
            api.Apply(Fixtures.Slice($"svc-{i:D3}", $"svc-{i:D3}-a", ($"10.2.0.{i + 1}", true), ($"10.3.0.{i + 1}", true)));
        }
    }

    [Fact]
    public void Auto_is_the_default_scope()
    {
        var options = new KubernetesDiscoveryOptions();

        Assert.Equal(WatchScope.Auto, options.WatchScope);
        Assert.Equal(20, options.NamespaceWatchThreshold);
    }

    [Fact]
    public async Task Services_move_onto_one_namespace_watch_when_more_than_the_threshold_are_in_use()
    {
        await using var test = Auto(threshold: 3);
        SeedNumbered(test.Api, 4);
        var first = new List<ServiceEndpointSnapshot>();
        for (var i = 0; i < 3; i++)
        {
            first.Add(await test.Resolver.GetSnapshotAsync(Numbered(i), Token));
        }

        // Subscribed after the first snapshot: it sees every publish from here on (a subscription does not replay).
        var seen = new List<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(Numbered(0), s => { lock (seen) { seen.Add(s); } });

        await Eventually.True(() => test.Api.ActiveWatchCount == 6, "three Services are watched on their own (two watches each)");
        Assert.Equal(0, test.Resolver.NamespaceWatchCount);
        Assert.All(test.Resolver.Watchers, w => Assert.False(w.IsShared));

        // The fourth Service is one more than the threshold: the namespace gets its shared watch, and the first three move onto it.
        var fourth = await test.Resolver.GetSnapshotAsync(Numbered(3), Token);
        await Eventually.True(
            () => test.Resolver.Watchers.All(w => w.IsShared) && test.Api.ActiveWatchCount == 2,
            "every watcher builds from the namespace watch and the per-Service watches are closed");

        Assert.Equal(1, test.Resolver.NamespaceWatchCount);
        Assert.Equal(["10.2.0.4", "10.3.0.4"], fourth.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal));
        for (var i = 0; i < 3; i++)
        {
            // Nothing changed in the cluster: the move published nothing, readers keep the very same snapshot.
            Assert.True(test.Resolver.TryGetSnapshot(Numbered(i), out var now));
            Assert.Same(first[i], now);
        }

        lock (seen)
        {
            Assert.Empty(seen);
        }

        // Changes now come through the namespace watch.
        test.Api.Apply(Fixtures.Slice("svc-000", "svc-000-a", ("10.2.0.1", true), ("10.3.0.1", false)));
        await Eventually.True(
            () => test.Resolver.TryGetSnapshot(Numbered(0), out var s) && s.UsableEndpoints.Length == 1,
            "the change reaches svc-000 through the namespace watch");
        Assert.True(test.Resolver.TryGetSnapshot(Numbered(0), out var changed));
        Assert.Equal(first[0].Version + 1, changed.Version);
        Assert.Same(first[0].Endpoints.Single(e => e.Address == "10.2.0.1"), changed.UsableEndpoints.Single());
        // Subscribers are notified right after the swap that TryGetSnapshot already sees.
        await Eventually.True(() => { lock (seen) { return seen.Count > 0; } }, "the subscriber is notified");
        lock (seen)
        {
            Assert.Same(changed, Assert.Single(seen));
        }
    }

    [Fact]
    public async Task A_move_never_publishes_the_namespace_watch_list_when_it_is_older_than_the_published_snapshot()
    {
        await using var test = Auto(threshold: 1);
        SeedNumbered(test.Api, 2);
        var first = await test.Resolver.GetSnapshotAsync(Numbered(0), Token);
        Assert.Equal(2, first.UsableEndpoints.Length);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "svc-000 is watched on its own");
        var seen = new List<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(Numbered(0), s => { lock (seen) { seen.Add(s); } });

        // The namespace watch's slice list is read now and answered later (a large namespace lists slowly).
        var listRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        test.Api.ListAnswerDelay = q => q is { Resource: WatchedResource.EndpointSlices, LabelSelector: NamespaceWatch.ServiceNameLabel } ? Release(listRead, answer.Task) : null;
        var second = test.Resolver.GetSnapshotAsync(Numbered(1), Token).AsTask();
        await listRead.Task.WaitAsync(TimeSpan.FromSeconds(15), Token);

        // Meanwhile svc-000 changes, and its own watch publishes that.
        test.Api.Apply(Fixtures.Slice("svc-000", "svc-000-a", ("10.2.0.1", true), ("10.3.0.1", false)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Numbered(0), out var s) && s.UsableEndpoints.Length == 1, "svc-000's own watch delivers the change");

        answer.SetResult();
        await second.WaitAsync(TimeSpan.FromSeconds(15), Token);
        await Eventually.True(
            () => test.Resolver.Watchers.All(w => w.IsShared) && test.Api.ActiveWatchCount == 2,
            "svc-000 moves onto the namespace watch once that has caught up");

        // Readers never go back to the state before the change (10.3.0.1 ready) that the late list still held.
        Assert.True(test.Resolver.TryGetSnapshot(Numbered(0), out var now));
        Assert.Equal(["10.2.0.1"], now.UsableEndpoints.Select(e => e.Address));
        lock (seen)
        {
            Assert.NotEmpty(seen);
            Assert.All(seen, s => Assert.Equal(["10.2.0.1"], s.UsableEndpoints.Select(e => e.Address)));
        }

        static Task Release(TaskCompletionSource read, Task answer)
        {
            read.TrySetResult();
            return answer;
        }
    }

    [Fact]
    public async Task A_service_created_while_its_watcher_moves_gets_its_endpoints()
    {
        await using var test = Auto(threshold: 1);
        SeedNumbered(test.Api, 2);
        var absent = TestResolver.Key("svc-new");
        Assert.False((await test.Resolver.GetSnapshotAsync(absent, Token)).ServiceExists);
        await Eventually.True(() => test.Api.ActiveWatchCount == 1, "svc-new's own Service watch is open");

        // svc-new's own watch falls behind: the namespace watch sees the Service first, and the two disagree during the move.
        test.Api.StallWatches();
        test.Api.Apply(Fixtures.Service("svc-new", ("http", 80, 8080)));
        test.Api.Apply(Fixtures.Slice("svc-new", "svc-new-a", ("10.9.0.1", true)));
        await test.Resolver.GetSnapshotAsync(Numbered(0), Token);
        await Eventually.True(() => test.Resolver.Watchers.All(w => w.IsShared), "svc-new is moving onto the namespace watch");

        // The own watch resumes and delivers the Service, whose endpoints the own informers must then read to agree.
        test.Api.EndWatches();
        await Eventually.True(
            () => test.Resolver.TryGetSnapshot(absent, out var s) && s.HasUsableEndpoints,
            "svc-new's endpoints are published");
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the move completes: only the namespace watch stays open");
    }

    [Fact]
    public async Task Services_the_namespace_watch_cannot_serve_stay_on_their_own_watches()
    {
        await using var test = Auto(threshold: 2);
        var externalDb = await test.Resolver.GetSnapshotAsync(TestResolver.Key("external-db"), Token);
        var docs = await test.Resolver.GetSnapshotAsync(TestResolver.Key("docs"), Token);
        Assert.Equal(EndpointSourceKind.Endpoints, externalDb.Source);
        Assert.Equal(EndpointSourceKind.ExternalName, docs.Source);

        var alpaca = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);
        await Eventually.True(
            () => test.Resolver.NamespaceWatchCount == 1 && test.Resolver.Watchers.Where(w => w.Key.Name != "external-db").All(w => w.IsShared),
            "alpaca-prod joins the namespace watch and the ExternalName Service moves onto it");

        // The selectorless Service needs its Endpoints mirror, which the namespace watch does not hold.
        Assert.False(test.Resolver.Watchers.Single(w => w.Key.Name == "external-db").IsShared);
        Assert.True(test.Resolver.TryGetSnapshot(TestResolver.Key("external-db"), out var stillOwn));
        Assert.Same(externalDb, stillOwn);
        Assert.True(test.Resolver.TryGetSnapshot(TestResolver.Key("docs"), out var docsNow));
        Assert.Same(docs, docsNow);
        Assert.True(alpaca.HasUsableEndpoints);
    }

    [Fact]
    public async Task Services_below_the_threshold_never_start_a_namespace_watch_and_idle_ones_stop_counting()
    {
        await using var test = Auto(threshold: 2);
        SeedNumbered(test.Api, 3);
        await test.Resolver.GetSnapshotAsync(Numbered(0), Token);
        await test.Resolver.GetSnapshotAsync(Numbered(1), Token);

        // Both go idle and are stopped: they no longer count, so a third Service alone is again below the threshold.
        test.Time.Advance(test.Options.IdleTimeout + TimeSpan.FromMinutes(1));
        await Eventually.True(() => !test.Resolver.Watchers.Any(), "the idle watchers are stopped", test.Time, TimeSpan.FromSeconds(10));
        await test.Resolver.GetSnapshotAsync(Numbered(2), Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "svc-002 has its own two watches");

        Assert.Equal(0, test.Resolver.NamespaceWatchCount);
        Assert.False(Assert.Single(test.Resolver.Watchers).IsShared);
    }

    [Fact]
    public async Task Through_the_stock_client_readers_see_no_gap_while_services_move_onto_the_namespace_watch()
    {
        await using var harness = await EmulatorHarness.StartAsync(o => o.NamespaceWatchThreshold = 2);
        for (var i = 0; i < 5; i++)
        {
            harness.Emulator.Apply(EmulatorObjects.Service("demo", $"svc-{i:D3}", EmulatorObjects.ServicePort(80, "http", 8080)));
            harness.Emulator.Apply(EmulatorObjects.EndpointSlice("demo", $"svc-{i:D3}", $"svc-{i:D3}-a", 8080, "http", [$"10.2.0.{i + 1}"]));
        }

        var first = await harness.Resolver.GetSnapshotAsync(Numbered(0), Token);
        var second = await harness.Resolver.GetSnapshotAsync(Numbered(1), Token);
        await harness.Emulator.WaitForOpenWatchesAsync(4, Token);
        await using var sampler0 = new SnapshotSampler(harness.Resolver, Numbered(0), ["10.2.0.1"]);
        await using var sampler1 = new SnapshotSampler(harness.Resolver, Numbered(1), ["10.2.0.2"]);

        var rest = await Task.WhenAll(Enumerable.Range(2, 3).Select(i => harness.Resolver.GetSnapshotAsync(Numbered(i), Token).AsTask()));
        await Eventually.True(
            () => harness.Resolver.Watchers.All(w => w.IsShared) && harness.Emulator.OpenWatchCount == 2,
            "every Service builds from the namespace watch and only its two watches stay open");

        await sampler0.AssertNoViolationsAsync();
        await sampler1.AssertNoViolationsAsync();
        Assert.True(harness.Resolver.TryGetSnapshot(Numbered(0), out var now0));
        Assert.Same(first, now0);
        Assert.True(harness.Resolver.TryGetSnapshot(Numbered(1), out var now1));
        Assert.Same(second, now1);
        Assert.Equal(["10.2.0.3", "10.2.0.4", "10.2.0.5"], rest.Select(s => s.UsableEndpoints.Single().Address));
        Assert.Equal(1, harness.Lists("endpointslices") - 2);

        harness.Emulator.SetEndpointConditions("demo", "svc-000-a", "10.2.0.1", ready: false, serving: false, terminating: false);
        await Eventually.True(() => harness.Resolver.TryGetSnapshot(Numbered(0), out var s) && !s.HasUsableEndpoints, "the change arrives through the namespace watch");
    }
}
