using Discovery.Internal;
using Discovery.Testing;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary><see cref="WatchScope.Namespace"/>: one Service watch and one EndpointSlice watch per namespace, per-Service snapshots.</summary>
public class NamespaceWatchTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");
    private static readonly ServiceKey Bandicoot = TestResolver.Key("bandicoot-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string[] Usable(ServiceEndpointSnapshot snapshot) => [.. snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal)];

    private static TestResolver NamespaceScoped(Action<KubernetesDiscoveryOptions>? configure = null)
        => new(o =>
        {
            o.WatchScope = WatchScope.Namespace;
            configure?.Invoke(o);
        });

    private static ServiceKey Numbered(int i) => TestResolver.Key($"svc-{i:D3}");

    private static void SeedNumbered(FakeKubernetesApi api, int count)
    {
        for (var i = 0; i < count; i++)
        {
            api.Apply(Fixtures.Service($"svc-{i:D3}", ("http", 80, 8080)));
            api.Apply(Fixtures.Slice($"svc-{i:D3}", $"svc-{i:D3}-a", ($"10.2.{i / 200}.{(i % 200) + 1}", true), ($"10.3.{i / 200}.{(i % 200) + 1}", i % 2 == 0)));
        }
    }

    [Fact]
    public async Task Many_services_share_one_service_watch_and_one_slice_watch()
    {
        await using var test = NamespaceScoped();
        SeedNumbered(test.Api, 50);

        var snapshots = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => test.Resolver.GetSnapshotAsync(Numbered(i), Token).AsTask()));
        var alpaca = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var bandicoot = await test.Resolver.GetSnapshotAsync(Bandicoot, Token);
        var missing = await test.Resolver.GetSnapshotAsync(TestResolver.Key("no-such-svc"), Token);
        var docs = await test.Resolver.GetSnapshotAsync(TestResolver.Key("docs"), Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the two namespace watches are open");

        Assert.Equal(1, test.Api.ListCalls[WatchedResource.Services]);
        Assert.Equal(1, test.Api.ListCalls[WatchedResource.EndpointSlices]);
        Assert.Equal(1, test.Api.WatchCalls[WatchedResource.Services]);
        Assert.Equal(1, test.Api.WatchCalls[WatchedResource.EndpointSlices]);
        Assert.False(test.Api.ListCalls.ContainsKey(WatchedResource.Endpoints));
        Assert.Equal(1, test.Resolver.NamespaceWatchCount);
        Assert.All(test.Resolver.Watchers, w => Assert.True(w.IsShared));

        for (var i = 0; i < 50; i++)
        {
            var expected = i % 2 == 0
                ? new[] { $"10.2.{i / 200}.{(i % 200) + 1}", $"10.3.{i / 200}.{(i % 200) + 1}" }.Order(StringComparer.Ordinal).ToArray()
                : [$"10.2.{i / 200}.{(i % 200) + 1}"];
            Assert.Equal(Numbered(i), snapshots[i].Service);
            Assert.Equal(expected, Usable(snapshots[i]));
            Assert.Equal(EndpointSourceKind.EndpointSlices, snapshots[i].Source);
            Assert.Equal(80, snapshots[i].ServiceInfo!.Ports.Single().Port);
        }

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Usable(alpaca));
        Assert.Equal(1, alpaca.NotReadyCount);
        Assert.Equal(2, alpaca.TerminatingCount);
        Assert.Equal(4, bandicoot.SelectPort(80, null, "http", null).Targets.Length);
        Assert.False(missing.ServiceExists);
        Assert.Equal(EndpointSourceKind.ExternalName, docs.Source);
        Assert.Equal("docs.example.com", docs.UsableEndpoints.Single().Address);
    }

    [Fact]
    public async Task A_namespace_scoped_watcher_holds_no_per_service_parts()
    {
        // Issue #13: 10,000 Services in one namespace are 10,000 watchers, each joined to one namespace watch. Such a
        // watcher must not carry what only a per-Service watcher needs (its own informers, its own health record) nor a
        // namespace source of its own: those were the bytes per Service the split of ServiceWatcher had added.
        await using var test = NamespaceScoped();
        SeedNumbered(test.Api, 50);

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => test.Resolver.GetSnapshotAsync(Numbered(i), Token).AsTask()));
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the two namespace watches are open");
        test.Api.Apply(Fixtures.Slice("svc-007", "svc-007-b", ("10.4.0.7", true)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Numbered(7), out var s) && s.UsableEndpoints.Any(e => e.Address == "10.4.0.7"), "svc-007 follows changes");

        var watchers = test.Resolver.Watchers.ToArray();
        Assert.Equal(50, watchers.Length);
        Assert.All(watchers, w =>
        {
            Assert.True(w.IsShared);
            Assert.Equal(0, w.PerServiceSourcesStarted);
            Assert.False(w.HasOwnHealth);
        });
        Assert.Single(watchers.Select(w => w.SharedSource).Distinct());
        Assert.All(test.Resolver.GetWatcherStatuses(), s => Assert.True(s.IsSynced));
    }

    [Fact]
    public async Task The_default_scope_keeps_one_watch_pair_per_service()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await test.Resolver.GetSnapshotAsync(Bandicoot, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 4, "two watches per Service are open");

        Assert.Equal(2, test.Api.WatchCalls[WatchedResource.EndpointSlices]);
        Assert.Equal(0, test.Resolver.NamespaceWatchCount);
        Assert.All(test.Resolver.Watchers, w => Assert.False(w.IsShared));
    }

    [Fact]
    public async Task A_change_to_one_service_publishes_only_that_service()
    {
        await using var test = NamespaceScoped();
        var alpacaSeen = new List<ServiceEndpointSnapshot>();
        var bandicootSeen = new List<ServiceEndpointSnapshot>();
        using var a = test.Resolver.Subscribe(Alpaca, s => { lock (alpacaSeen) { alpacaSeen.Add(s); } });
        using var b = test.Resolver.Subscribe(Bandicoot, s => { lock (bandicootSeen) { bandicootSeen.Add(s); } });
        var alpacaFirst = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var bandicootFirst = await test.Resolver.GetSnapshotAsync(Bandicoot, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the two namespace watches are open");

        var slice = Fixtures.AlpacaSlice7xkqp();
        slice.Endpoints[1].Conditions.Ready = false;
        test.Api.Apply(slice);
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out var s) && Usable(s).SequenceEqual(["10.1.0.11", "10.1.0.15"]), "10.1.0.12 leaves alpaca");

        // A Service edit that discovery does not read, and a slice moved from one Service to another.
        var service = Fixtures.BandicootService();
        service.Metadata.Annotations = new Dictionary<string, string> { ["example.com/owner"] = "team-b" };
        test.Api.Apply(service);
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "moving", ("10.1.0.70", true)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Length == 3, "the new slice joins alpaca");
        test.Api.Apply(Fixtures.Slice("bandicoot-prod", "moving", ("10.1.0.70", true)));
        await Eventually.True(
            () => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Length == 2
                && test.Resolver.TryGetSnapshot(Bandicoot, out var t) && t.UsableEndpoints.Any(e => e.Address == "10.1.0.70"),
            "the relabelled slice leaves alpaca for bandicoot");

        Assert.True(test.Resolver.TryGetSnapshot(Bandicoot, out var bandicootNow));
        lock (alpacaSeen)
        {
            Assert.Equal([alpacaFirst.Version, alpacaFirst.Version + 1, alpacaFirst.Version + 2, alpacaFirst.Version + 3], alpacaSeen.Select(s => s.Version));
        }

        lock (bandicootSeen)
        {
            Assert.Equal([bandicootFirst.Version, bandicootFirst.Version + 1], bandicootSeen.Select(s => s.Version));
            Assert.Same(bandicootNow, bandicootSeen[^1]);
        }
    }

    [Fact]
    public async Task A_relist_after_410_swaps_changed_services_whole_and_leaves_the_others_alone()
    {
        await using var test = NamespaceScoped();
        SeedNumbered(test.Api, 20);
        var first = new ServiceEndpointSnapshot[20];
        for (var i = 0; i < 20; i++)
        {
            first[i] = await test.Resolver.GetSnapshotAsync(Numbered(i), Token);
        }

        var published = 0;
        using var subscriptions = new CompositeDisposable([.. Enumerable.Range(1, 19).Select(i => test.Resolver.Subscribe(Numbered(i), _ => Interlocked.Increment(ref published)))]);
        Interlocked.Exchange(ref published, 0);
        var changed = new List<ServiceEndpointSnapshot>();
        using var watched = test.Resolver.Subscribe(Numbered(0), s => { lock (changed) { changed.Add(s); } });
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the two namespace watches are open");

        // svc-000's slice is replaced by two others while the watch is down and the history compacted: only a re-list sees it.
        test.Api.StallWatches();
        test.Api.Delete(WatchedResource.EndpointSlices, Fixtures.Namespace, "svc-000-a");
        test.Api.Apply(Fixtures.Slice("svc-000", "svc-000-b", ("10.9.0.1", true)));
        test.Api.Apply(Fixtures.Slice("svc-000", "svc-000-c", ("10.9.0.2", true)));
        test.Api.Compact();
        await using (var sampler = new SnapshotSampler(test.Resolver, Numbered(0), [.. Usable(first[0])], ["10.9.0.1", "10.9.0.2"]))
        {
            test.Api.ExpireWatches();
            await Eventually.True(
                () => test.Resolver.TryGetSnapshot(Numbered(0), out var s) && Usable(s).SequenceEqual(["10.9.0.1", "10.9.0.2"]),
                "the re-list brings svc-000's new slices");
            await sampler.AssertNoViolationsAsync();
        }

        Assert.Equal(2, test.Api.ListCalls[WatchedResource.EndpointSlices]);
        Assert.Equal(1, test.Resolver.NamespaceWatchCount);
        for (var i = 1; i < 20; i++)
        {
            Assert.True(test.Resolver.TryGetSnapshot(Numbered(i), out var now));
            Assert.Same(first[i], now);
        }

        Assert.Equal(0, Volatile.Read(ref published));
        lock (changed)
        {
            Assert.Equal(first[0].Version + 1, changed.Single().Version);
        }
    }

    [Fact]
    public async Task Idle_eviction_ends_a_service_and_the_last_one_stops_the_namespace_watch()
    {
        await using var test = NamespaceScoped();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await test.Resolver.GetSnapshotAsync(Bandicoot, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the two namespace watches are open");

        // Bandicoot stays in use; alpaca goes idle and is evicted while the namespace watch keeps serving bandicoot.
        for (var i = 0; i < 5; i++)
        {
            test.Time.Advance(TimeSpan.FromSeconds(15));
            Assert.True(test.Resolver.TryGetSnapshot(Bandicoot, out _));
        }

        Assert.False(test.Resolver.TryGetSnapshot(Alpaca, out _));
        Assert.Equal(Bandicoot, test.Resolver.Watchers.Single().Key);
        Assert.Equal(1, test.Resolver.NamespaceWatchCount);
        // (75 s of fake time also passed the watches' own deadline: they reconnect, still one pair for the namespace.)
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Bandicoot, out _) && test.Api.ActiveWatchCount == 2, "the namespace watches stay open", test.Time, TimeSpan.FromMilliseconds(100));
        test.Api.Apply(Fixtures.Slice("bandicoot-prod", "bandicoot-extra", ("10.1.0.80", true)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Bandicoot, out var s) && s.UsableEndpoints.Any(e => e.Address == "10.1.0.80"), "bandicoot still follows changes", test.Time, TimeSpan.FromMilliseconds(100));

        // Bandicoot goes idle too: the namespace's informers stop.
        test.Time.Advance(TimeSpan.FromSeconds(90));
        await Eventually.True(() => test.Api.ActiveWatchCount == 0 && test.Resolver.NamespaceWatchCount == 0, "the namespace watch stops", test.Time, TimeSpan.FromSeconds(1));
        Assert.Empty(test.Resolver.Watchers);

        // A later lookup starts the namespace watch again and waits for its initial list.
        var again = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Usable(again));
        Assert.Equal(2, test.Api.ListCalls[WatchedResource.EndpointSlices]);
        Assert.Equal(1, test.Resolver.NamespaceWatchCount);
    }

    [Fact]
    public async Task The_first_lookup_waits_for_the_namespace_list_and_reports_refusals()
    {
        await using var test = NamespaceScoped(o => o.FallbackToEndpoints = false);
        test.Api.ListFault = q => q.Resource == WatchedResource.Services ? FakeKubernetesApi.Status(403, "Forbidden") : null;

        var error = await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await test.Resolver.GetSnapshotAsync(Alpaca, Token));
        Assert.Equal(Alpaca, error.Service);

        test.Api.ListFault = null;
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out _), "the namespace watch recovers once RBAC is fixed", test.Time);
    }

    [Fact]
    public async Task A_role_limited_to_named_services_sends_the_namespace_back_to_per_service_watching()
    {
        await using var test = NamespaceScoped();

        // RBAC with resourceNames: a Service may be read by name (field selector), the namespace's list is refused.
        test.Api.ListFault = q => q.Resource == WatchedResource.Services && q.FieldSelector is null ? FakeKubernetesApi.Status(403, "Forbidden") : null;

        var alpaca = await test.Resolver.GetSnapshotAsync(Alpaca, Token);

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Usable(alpaca));
        Assert.False(test.Resolver.Watchers.Single().IsShared);
        await Eventually.True(() => test.Resolver.NamespaceWatchCount == 0, "the namespace watch stops");

        // Later Services of the namespace are watched on their own from the start.
        var other = await test.Resolver.GetSnapshotAsync(TestResolver.Key("external-db"), Token);
        Assert.True(other.ServiceExists);
        Assert.Equal(0, test.Resolver.NamespaceWatchCount);
    }

    [Fact]
    public async Task Selectorless_services_and_refused_slices_go_back_to_per_service_watching()
    {
        await using (var test = NamespaceScoped())
        {
            var externalDb = await test.Resolver.GetSnapshotAsync(TestResolver.Key("external-db"), Token);
            var alpaca = await test.Resolver.GetSnapshotAsync(Alpaca, Token);

            Assert.Equal(EndpointSourceKind.Endpoints, externalDb.Source);
            Assert.Equal("10.1.0.50", externalDb.UsableEndpoints.Single().Address);
            Assert.Equal(3, alpaca.UsableEndpoints.Length);
            Assert.False(test.Resolver.Watchers.Single(w => w.Key.Name == "external-db").IsShared);
            Assert.True(test.Resolver.Watchers.Single(w => w.Key.Name == "alpaca-prod").IsShared);
        }

        await using (var test = NamespaceScoped())
        {
            test.Api.ListFault = q => q.Resource == WatchedResource.EndpointSlices ? FakeKubernetesApi.Status(403, "Forbidden") : null;

            var alpaca = await test.Resolver.GetSnapshotAsync(Alpaca, Token);

            Assert.Equal(EndpointSourceKind.Endpoints, alpaca.Source);
            Assert.NotEmpty(alpaca.UsableEndpoints);
            Assert.False(test.Resolver.Watchers.Single().IsShared);
            await Eventually.True(() => test.Resolver.NamespaceWatchCount == 0, "the namespace watch stops");
        }
    }

    [Fact]
    public async Task Through_the_stock_client_many_services_share_the_namespace_watches()
    {
        await using var harness = await EmulatorHarness.StartAsync(o => o.WatchScope = WatchScope.Namespace);
        for (var i = 0; i < 30; i++)
        {
            harness.Emulator.Apply(EmulatorObjects.Service("demo", $"svc-{i:D3}", EmulatorObjects.ServicePort(80, "http", 8080)));
            harness.Emulator.Apply(EmulatorObjects.EndpointSlice("demo", $"svc-{i:D3}", $"svc-{i:D3}-a", 8080, "http", [$"10.2.0.{i + 1}"]));
        }

        var snapshots = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => harness.Resolver.GetSnapshotAsync(Numbered(i), Token).AsTask()));
        var alpaca = await harness.Resolver.GetSnapshotAsync(Alpaca, Token);
        await harness.Emulator.WaitForOpenWatchesAsync(2, Token);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal([$"10.2.0.{i + 1}"], Usable(snapshots[i]));
        }

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Usable(alpaca));
        Assert.Equal(1, harness.Watches("services"));
        Assert.Equal(1, harness.Watches("endpointslices"));
        Assert.Equal(1, harness.Lists("services"));
        Assert.Equal(1, harness.Lists("endpointslices"));
        Assert.Contains(harness.Emulator.Requests, r => r.IsWatch && r.Path.EndsWith("/endpointslices", StringComparison.Ordinal) && r.PathAndQuery.Contains("labelSelector=kubernetes.io%2Fservice-name", StringComparison.Ordinal));

        harness.Emulator.SetEndpointConditions("demo", "alpaca-prod-7xkqp", "10.1.0.12", ready: false, serving: false, terminating: false);
        await Eventually.True(() => harness.Resolver.TryGetSnapshot(Alpaca, out var s) && Usable(s).SequenceEqual(["10.1.0.11", "10.1.0.15"]), "the change arrives through the shared watch");
        for (var i = 0; i < 30; i++)
        {
            Assert.True(harness.Resolver.TryGetSnapshot(Numbered(i), out var now));
            Assert.Same(snapshots[i], now);
        }

        // 410: the shared watches re-list; Services whose data did not change keep their snapshots.
        harness.Emulator.Faults.FailNextWatchWith410();
        harness.Emulator.Faults.FailNextWatchWith410();
        harness.Emulator.Faults.DropWatches();
        await Eventually.True(() => harness.Lists("endpointslices") + harness.Lists("services") >= 3, "a shared informer re-lists", harness.Time, TimeSpan.FromMilliseconds(100));
        harness.Emulator.Apply(EmulatorObjects.EndpointSlice("demo", "svc-000", "svc-000-b", 8080, "http", ["10.2.1.1"]));
        await Eventually.True(() => harness.Resolver.TryGetSnapshot(Numbered(0), out var s) && s.UsableEndpoints.Length == 2, "the change after the re-list arrives", harness.Time, TimeSpan.FromMilliseconds(100));
        for (var i = 1; i < 30; i++)
        {
            Assert.True(harness.Resolver.TryGetSnapshot(Numbered(i), out var now));
            Assert.Same(snapshots[i], now);
        }
    }

    private sealed class CompositeDisposable(IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
