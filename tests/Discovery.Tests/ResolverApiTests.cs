using Discovery.Internal;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>The public resolver surface: lookups, subscriptions, idle eviction, allow-list, fallbacks, pre-warm.</summary>
public class ResolverApiTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Try_get_is_false_before_the_first_lookup_and_allocates_nothing_after()
    {
        await using var test = new TestResolver();
        Assert.False(test.Resolver.TryGetSnapshot(Alpaca, out _));
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        test.Resolver.TryGetSnapshot(Alpaca, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            test.Resolver.TryGetSnapshot(Alpaca, out _);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public async Task Concurrent_first_lookups_share_one_watcher()
    {
        await using var test = new TestResolver();

        var lookups = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => test.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask()));

        Assert.Single(lookups.Distinct());
        Assert.Equal(1, test.Api.ListCalls[WatchedResource.EndpointSlices]);
        Assert.Single(test.Resolver.GetWatcherStatuses());
    }

    [Fact]
    public async Task An_idle_watcher_is_stopped_and_restarted_on_next_use()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        test.Time.Advance(TimeSpan.FromSeconds(45));
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out _));
        test.Time.Advance(TimeSpan.FromSeconds(45));
        Assert.Single(test.Resolver.GetWatcherStatuses());

        test.Time.Advance(TimeSpan.FromSeconds(75));
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Count == 0 && test.Api.ActiveWatchCount == 0, "the idle watcher is stopped");
        Assert.False(test.Resolver.TryGetSnapshot(Alpaca, out _));

        var again = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.Equal(3, again.UsableEndpoints.Length);
    }

    [Fact]
    public async Task A_snapshot_is_marked_superseded_when_a_newer_one_is_published_and_when_its_watcher_stops()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.False(first.IsSuperseded);

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-next", ("10.1.0.62", true)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Length == 4, "the change is published");
        Assert.True(first.IsSuperseded);
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out var second));
        Assert.False(second.IsSuperseded);

        // Stopped as idle: whoever still holds the last snapshot learns that it will not change any more.
        test.Time.Advance(TimeSpan.FromMinutes(3));
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Count == 0, "the idle watcher stops");
        Assert.True(second.IsSuperseded);

        var third = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.False(third.IsSuperseded);
        await test.Resolver.DisposeAsync();
        Assert.True(third.IsSuperseded);
    }

    [Fact]
    public async Task A_missing_service_watcher_is_evicted_too()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(new ServiceKey("com", "example"), Token);

        test.Time.Advance(TimeSpan.FromMinutes(2));

        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Count == 0 && test.Api.ActiveWatchCount == 0, "the negative watcher is stopped");
    }

    [Fact]
    public async Task Subscribers_get_every_change_and_keep_the_watcher_alive()
    {
        await using var test = new TestResolver();
        var seen = new List<ServiceEndpointSnapshot>();
        using (test.Resolver.Subscribe(Alpaca, s => { lock (seen) { seen.Add(s); } }))
        {
            await test.Resolver.GetSnapshotAsync(Alpaca, Token);
            test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-sub", ("10.1.0.60", true)));
            await Eventually.True(() => { lock (seen) { return seen.Any(s => s.UsableEndpoints.Any(e => e.Address == "10.1.0.60")); } }, "the subscriber sees the change");

            test.Time.Advance(TimeSpan.FromMinutes(5));
            Assert.Single(test.Resolver.GetWatcherStatuses());
        }

        test.Time.Advance(TimeSpan.FromMinutes(2));
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Count == 0, "unsubscribed and idle, the watcher stops");
    }

    [Fact]
    public async Task Ending_one_of_two_subscriptions_with_the_same_callback_keeps_the_watcher_alive()
    {
        // The adapters hold watchers with one cached no-op callback (a static lambda is one delegate instance), so several
        // holds of one Service share it: ending one must end only that one.
        await using var test = new TestResolver();
        Action<ServiceEndpointSnapshot> hold = static _ => { };
        var first = test.Resolver.Subscribe(Alpaca, hold);
        using var second = test.Resolver.Subscribe(Alpaca, hold);
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);

        first.Dispose();
        for (var i = 0; i < 10; i++)
        {
            test.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var status = Assert.Single(test.Resolver.GetWatcherStatuses());
        Assert.Equal(Alpaca, status.Service);
        second.Dispose();
        test.Time.Advance(TimeSpan.FromMinutes(2));
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Count == 0, "with both holds ended, the idle watcher stops");
    }

    [Fact]
    public async Task A_subscriber_that_starts_the_watcher_gets_its_first_snapshot()
    {
        // The first publish races with the subscription when the subscription is what starts the watcher; it is quickest
        // when the namespace watch has synced already and the new watcher only builds from it. Repeat to see it.
        for (var i = 0; i < 50; i++)
        {
            await using var test = new TestResolver(o => o.WatchScope = WatchScope.Namespace);
            await test.Resolver.GetSnapshotAsync(TestResolver.Key("bandicoot-prod"), Token);
            var seen = new List<long>();
            using (test.Resolver.Subscribe(Alpaca, s => { lock (seen) { seen.Add(s.Version); } }))
            {
                var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
                await Eventually.True(() => { lock (seen) { return seen.Count > 0; } }, "the subscriber is called");
                lock (seen)
                {
                    Assert.Equal(first.Version, seen[0]);
                }
            }
        }
    }

    [Fact]
    public async Task Watch_async_yields_the_current_snapshot_then_changes()
    {
        await using var test = new TestResolver();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        await using var stream = test.Resolver.WatchAsync(Alpaca, cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(3, stream.Current.UsableEndpoints.Length);
        var first = stream.Current.Version;

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-stream", ("10.1.0.61", true)));
        ServiceEndpointSnapshot latest;
        do
        {
            Assert.True(await stream.MoveNextAsync());
            latest = stream.Current;
            Assert.True(latest.Version > first);
        }
        while (latest.UsableEndpoints.Length != 4);
    }

    [Fact]
    public async Task Namespaces_outside_the_allow_list_are_refused_before_any_api_call()
    {
        await using var test = new TestResolver(o => o.AllowedNamespaces.Add("demo"));

        var error = await Assert.ThrowsAsync<NamespaceNotAllowedException>(async () => await test.Resolver.GetSnapshotAsync(new ServiceKey("kube-system", "kube-dns"), Token));
        Assert.Throws<NamespaceNotAllowedException>(() => test.Resolver.Subscribe(new ServiceKey("kube-system", "kube-dns"), _ => { }));

        Assert.Contains("kube-system", error.Message, StringComparison.Ordinal);
        Assert.Contains("kube-dns", error.Message, StringComparison.Ordinal);
        Assert.Empty(test.Api.ListCalls);
        Assert.Equal(3, (await test.Resolver.GetSnapshotAsync(Alpaca, Token)).UsableEndpoints.Length);
    }

    [Fact]
    public async Task Malformed_keys_are_refused_before_any_api_call()
    {
        await using var test = new TestResolver();

        await Assert.ThrowsAsync<InvalidServiceNameException>(async () => await test.Resolver.GetSnapshotAsync(new ServiceKey("demo", "Bad_Name"), Token));
        await Assert.ThrowsAsync<InvalidServiceNameException>(async () => await test.Resolver.GetSnapshotAsync(new ServiceKey("../x", "alpaca"), Token));

        Assert.Empty(test.Api.ListCalls);
    }

    [Fact]
    public async Task Environment_variables_are_an_opt_in_fallback_when_the_api_is_down()
    {
        Environment.SetEnvironmentVariable("ENVFALLBACK_SVC_SERVICE_HOST", "10.96.0.42");
        Environment.SetEnvironmentVariable("ENVFALLBACK_SVC_SERVICE_PORT", "8080");
        Environment.SetEnvironmentVariable("ENVFALLBACK_SVC_SERVICE_PORT_HTTP", "8080");
        try
        {
            await using var test = new TestResolver(o => o.UseEnvironmentVariableFallback = true);
            test.Api.ListFault = _ => new HttpRequestException("Connection refused");
            var key = TestResolver.Key("envfallback-svc");

            var pending = test.Resolver.GetSnapshotAsync(key, Token).AsTask();
            await Eventually.True(() => pending.IsCompleted, "the lookup falls back", test.Time, TimeSpan.FromSeconds(1));
            var snapshot = await pending;

            Assert.Equal(EndpointSourceKind.EnvironmentVariables, snapshot.Source);
            Assert.Equal("10.96.0.42:8080", snapshot.SelectPort(null, null, "http", null).Targets.Single().Authority);
            Assert.True(test.Resolver.TryGetSnapshot(key, out _));
            Assert.False(test.Resolver.GetWatcherStatuses().Single().IsSynced);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ENVFALLBACK_SVC_SERVICE_HOST", null);
            Environment.SetEnvironmentVariable("ENVFALLBACK_SVC_SERVICE_PORT", null);
            Environment.SetEnvironmentVariable("ENVFALLBACK_SVC_SERVICE_PORT_HTTP", null);
        }
    }

    [Fact]
    public async Task Dns_is_an_opt_in_fallback_and_real_data_replaces_it()
    {
        await using var test = new TestResolver(o => o.UseDnsFallback = true);
        test.Api.ListFault = _ => new HttpRequestException("Connection refused");

        var pending = test.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask();
        await Eventually.True(() => pending.IsCompleted, "the lookup falls back", test.Time, TimeSpan.FromSeconds(1));
        var snapshot = await pending;

        Assert.Equal(EndpointSourceKind.Dns, snapshot.Source);
        Assert.Equal("alpaca-prod.demo.svc.cluster.local:8080", snapshot.SelectPort(8080, null, "http", null).Targets.Single().Authority);

        test.Api.ListFault = null;
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.Source == EndpointSourceKind.EndpointSlices, "the API data replaces the fallback", test.Time, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Without_opt_in_there_is_no_fallback()
    {
        await using var test = new TestResolver();
        test.Api.ListFault = _ => new HttpRequestException("Connection refused");

        var pending = test.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask();
        await Eventually.True(() => pending.IsCompleted, "the lookup gives up", test.Time, TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<KubernetesApiUnavailableException>(() => pending);
    }

    [Fact]
    public async Task Prewarmed_services_sync_without_a_lookup_and_are_never_idle_evicted()
    {
        await using var test = new TestResolver();

        test.Resolver.Prewarm([Alpaca]);
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out _), "the pre-warmed Service syncs");
        test.Time.Advance(TimeSpan.FromMinutes(10));

        Assert.Single(test.Resolver.GetWatcherStatuses());
    }

    [Fact]
    public async Task Lookups_store_the_last_use_at_most_once_a_second()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var watcher = test.Resolver.Watchers.Single();

        test.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out _));
        Assert.Equal(TimeSpan.Zero, watcher.IdleFor);

        // Within the granularity the stored timestamp is left alone: no shared write per request.
        test.Time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out _));
        Assert.Equal(TimeSpan.FromMilliseconds(400), watcher.IdleFor);

        test.Time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out _));
        Assert.Equal(TimeSpan.Zero, watcher.IdleFor);
    }

    [Fact]
    public async Task A_watcher_used_more_often_than_its_idle_timeout_is_never_evicted()
    {
        await using var test = new TestResolver(o => o.IdleTimeout = TimeSpan.FromSeconds(1));
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var watcher = test.Resolver.Watchers.Single();

        for (var i = 0; i < 20; i++)
        {
            test.Time.Advance(TimeSpan.FromMilliseconds(900));
            Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out _), $"evicted after {i + 1} uses 900 ms apart");
        }

        Assert.Same(watcher, test.Resolver.Watchers.Single());
        Assert.False(watcher.IsRetired);
    }

    [Fact]
    public async Task At_the_watcher_cap_idle_watchers_make_room_and_otherwise_lookups_fail_clearly()
    {
        await using var test = new TestResolver(o => o.MaxWatchers = 2);
        var bandicoot = TestResolver.Key("bandicoot-prod");
        var docs = TestResolver.Key("docs");
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await test.Resolver.GetSnapshotAsync(bandicoot, Token);

        var error = await Assert.ThrowsAsync<WatcherLimitExceededException>(async () => await test.Resolver.GetSnapshotAsync(docs, Token));
        Assert.Throws<WatcherLimitExceededException>(() => test.Resolver.Subscribe(docs, _ => { }));

        Assert.Equal(docs, error.Service);
        Assert.Equal(2, error.MaxWatchers);
        Assert.Contains("'docs'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'demo'", error.Message, StringComparison.Ordinal);
        Assert.Contains("watches 2 Services", error.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery:MaxWatchers", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, test.Resolver.GetWatcherStatuses().Count);

        // Alpaca stays in use; bandicoot goes past its idle timeout (1 min) before the periodic sweep (every 15 s) reaches it.
        // (FakeTimeProvider runs the timers an Advance passes at its end time: step onto the sweep at 60 s, then past it.)
        test.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out _));
        test.Time.Advance(TimeSpan.FromSeconds(30));
        test.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, test.Resolver.GetWatcherStatuses().Count);

        var snapshot = await test.Resolver.GetSnapshotAsync(docs, Token);

        Assert.Equal(docs, snapshot.Service);
        Assert.Equal([Alpaca, docs], test.Resolver.GetWatcherStatuses().Select(s => s.Service));
        Assert.Throws<WatcherLimitExceededException>(() => test.Resolver.Subscribe(bandicoot, _ => { }));
    }

    [Fact]
    public async Task Concurrent_first_lookups_never_overshoot_the_watcher_cap()
    {
        await using var test = new TestResolver(o => o.MaxWatchers = 5);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
        {
            try
            {
                await test.Resolver.GetSnapshotAsync(TestResolver.Key("svc-" + i), Token);
                return true;
            }
            catch (WatcherLimitExceededException)
            {
                return false;
            }
        })));

        Assert.Equal(5, outcomes.Count(ok => ok));
        Assert.Equal(5, test.Resolver.GetWatcherStatuses().Count);
    }

    [Fact]
    public async Task Each_fallback_is_logged_once_per_service_across_lookups_and_watcher_restarts()
    {
        Environment.SetEnvironmentVariable("LOGONCE_ENV_SERVICE_HOST", "10.96.0.43");
        Environment.SetEnvironmentVariable("LOGONCE_ENV_SERVICE_PORT", "8080");
        try
        {
            using var logs = new TestLogs();
            await using var test = new TestResolver(
                o =>
                {
                    o.UseEnvironmentVariableFallback = true;
                    o.UseDnsFallback = true;
                },
                loggerFactory: logs.Factory);
            test.Api.ListFault = _ => new HttpRequestException("Connection refused");
            var fromEnvironment = TestResolver.Key("logonce-env");

            for (var round = 0; round < 2; round++)
            {
                var lookups = Enumerable.Range(0, 3).SelectMany(_ => new[] { Alpaca, fromEnvironment })
                    .Select(key => test.Resolver.GetSnapshotAsync(key, Token).AsTask())
                    .ToArray();
                await Eventually.True(() => lookups.All(l => l.IsCompleted), "the lookups fall back", test.Time, TimeSpan.FromSeconds(1));
                var sources = (await Task.WhenAll(lookups)).Select(s => s.Source).Distinct().Order().ToArray();
                Assert.Equal([EndpointSourceKind.EnvironmentVariables, EndpointSourceKind.Dns], sources);

                // Idle watchers stop, so that the next round starts fresh ones for the same Services.
                test.Time.Advance(TimeSpan.FromMinutes(2));
                await Eventually.True(() => test.Resolver.GetWatcherStatuses().Count == 0, "the idle watchers stop");
            }

            var warnings = logs.Collector.GetSnapshot().Where(r => r.Id.Id == 11).Select(r => r.Message).ToArray();
            Assert.Equal(2, warnings.Length);
            Assert.Single(warnings, m => m.Contains("demo/alpaca-prod", StringComparison.Ordinal) && m.Contains("Dns", StringComparison.Ordinal));
            Assert.Single(warnings, m => m.Contains("demo/logonce-env", StringComparison.Ordinal) && m.Contains("EnvironmentVariables", StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable("LOGONCE_ENV_SERVICE_HOST", null);
            Environment.SetEnvironmentVariable("LOGONCE_ENV_SERVICE_PORT", null);
        }
    }
}
