using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Discovery.Tests;

/// <summary>The list-then-watch loop against the in-memory API: resume, re-list, back-off, deadlines, faults.</summary>
public class WatchLifecycleTests
{
    private static readonly string[] AlpacaReady = ["10.1.0.11", "10.1.0.12", "10.1.0.15"];
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string[] Usable(ServiceEndpointSnapshot snapshot) => [.. snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal)];

    private static string[] CurrentUsable(TestResolver test)
        => test.Resolver.TryGetSnapshot(Alpaca, out var snapshot) ? Usable(snapshot) : [];

    [Fact]
    public async Task First_lookup_waits_for_the_initial_list()
    {
        await using var test = new TestResolver();

        var snapshot = await test.Resolver.GetSnapshotAsync(Alpaca, Token);

        Assert.True(snapshot.ServiceExists);
        Assert.Equal(EndpointSourceKind.EndpointSlices, snapshot.Source);
        Assert.Equal(AlpacaReady, Usable(snapshot));
        Assert.Equal(8080, snapshot.ServiceInfo!.Ports.Single().Port);
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out var again));
        Assert.Same(snapshot, again);
    }

    [Fact]
    public async Task A_change_is_published_as_a_new_snapshot()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var slice = Fixtures.AlpacaSlice7xkqp();
        slice.Endpoints[1].Conditions.Ready = false;

        test.Api.Apply(slice);

        await Eventually.True(() => CurrentUsable(test).SequenceEqual(["10.1.0.11", "10.1.0.15"]), "10.1.0.12 leaves the set");
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out var second));
        Assert.True(second.Version > first.Version);
        Assert.Equal(AlpacaReady, Usable(first));
    }

    [Fact]
    public async Task A_relist_that_finds_the_same_set_publishes_nothing()
    {
        await using var test = new TestResolver();
        var seen = new List<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(Alpaca, s => { lock (seen) { seen.Add(s); } });
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        test.Api.ExpireWatches();
        await Eventually.True(
            () => test.Api.ListCalls[WatchedResource.Services] == 2 && test.Api.ListCalls[WatchedResource.EndpointSlices] == 2 && test.Api.ActiveWatchCount == 2,
            "both informers re-list and watch again");
        Assert.True(test.Resolver.TryGetSnapshot(Alpaca, out var afterRelist));
        Assert.Same(first, afterRelist);

        // A real change after the re-list: once it is seen, everything the re-list caused has been seen too.
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-marker", ("10.1.0.62", true)));
        await Eventually.True(() => { lock (seen) { return seen.Any(s => s.UsableEndpoints.Length == 4); } }, "the real change arrives");

        lock (seen)
        {
            Assert.Equal(2, seen.Count);
            Assert.Same(first, seen[0]);
            Assert.Equal(first.Version + 1, seen[1].Version);
        }
    }

    [Fact]
    public async Task A_service_edit_that_discovery_does_not_read_publishes_nothing()
    {
        await using var test = new TestResolver();
        var seen = new List<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(Alpaca, s => { lock (seen) { seen.Add(s); } });
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        var service = Fixtures.AlpacaService();
        service.Metadata.Annotations = new Dictionary<string, string> { ["example.com/owner"] = "team-a" };
        test.Api.Apply(service);
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-marker", ("10.1.0.63", true)));
        await Eventually.True(() => { lock (seen) { return seen.Any(s => s.UsableEndpoints.Length == 4); } }, "the real change arrives");

        lock (seen)
        {
            Assert.Equal([first.Version, first.Version + 1], seen.Select(s => s.Version));
        }
    }

    [Fact]
    public async Task Watch_async_yields_each_real_change_once_across_a_relist()
    {
        await using var test = new TestResolver();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        await using var stream = test.Resolver.WatchAsync(Alpaca, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await stream.MoveNextAsync());
        var first = stream.Current;
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        test.Api.ExpireWatches();
        await Eventually.True(
            () => test.Api.ListCalls[WatchedResource.Services] == 2 && test.Api.ListCalls[WatchedResource.EndpointSlices] == 2 && test.Api.ActiveWatchCount == 2,
            "both informers re-list and watch again");
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-marker", ("10.1.0.64", true)));

        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(4, stream.Current.UsableEndpoints.Length);
        Assert.Equal(first.Version + 1, stream.Current.Version);
    }

    [Fact]
    public async Task A_list_that_never_answers_is_abandoned_after_the_request_timeout_and_retried()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(
            o =>
            {
                o.RequestTimeout = TimeSpan.FromSeconds(2);
                o.InitialSyncTimeout = TimeSpan.FromMinutes(1);
            },
            loggerFactory: logs.Factory);
        var sliceLists = 0;
        test.Api.ListHangs = q => q.Resource == WatchedResource.EndpointSlices && Interlocked.Increment(ref sliceLists) == 1;
        var started = test.Time.GetUtcNow();

        var pending = test.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask();
        await Eventually.True(() => pending.IsCompleted, "the hung list is abandoned and retried", test.Time, TimeSpan.FromMilliseconds(100));

        var snapshot = await pending;
        Assert.Equal(AlpacaReady, Usable(snapshot));
        Assert.Equal(2, test.Api.ListCalls[WatchedResource.EndpointSlices]);
        // Fake time moves with the polling, as fast as the machine lets the retry through: the bound that matters is the
        // initial sync timeout, which a list left hanging (never abandoned) would run into.
        Assert.True(test.Time.GetUtcNow() - started < test.Options.InitialSyncTimeout, "synced before the initial sync timeout");
        Assert.Contains(logs.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Exception is TimeoutException && r.Exception.Message.Contains("RequestTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unchanged_endpoints_keep_their_instances_across_snapshots()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var slice = Fixtures.AlpacaSlice7xkqp();
        slice.Endpoints[1].Conditions.Ready = false;

        test.Api.Apply(slice);
        await Eventually.True(() => CurrentUsable(test).Length == 2, "the change is published");
        test.Resolver.TryGetSnapshot(Alpaca, out var second);

        Assert.Same(first.Endpoints.Single(e => e.Address == "10.1.0.11"), second!.Endpoints.Single(e => e.Address == "10.1.0.11"));
        Assert.Same(first.Endpoints.Single(e => e.Address == "10.1.0.15"), second.Endpoints.Single(e => e.Address == "10.1.0.15"));
        Assert.NotSame(first.Endpoints.Single(e => e.Address == "10.1.0.12"), second.Endpoints.Single(e => e.Address == "10.1.0.12"));
    }

    [Fact]
    public async Task A_clean_end_resumes_from_the_last_resource_version_without_a_relist()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var lists = test.Api.ListCalls[WatchedResource.EndpointSlices];
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        await using var sampler = new SnapshotSampler(test.Resolver, Alpaca, AlpacaReady, ["10.1.0.11", "10.1.0.12", "10.1.0.15", "10.1.0.30"]);

        test.Api.EndWatches();
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-extra", ("10.1.0.30", true)));

        await Eventually.True(() => CurrentUsable(test).Contains("10.1.0.30"), "the change made between watches arrives");
        Assert.Equal(lists, test.Api.ListCalls[WatchedResource.EndpointSlices]);
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task A_410_error_event_relists_and_swaps_without_an_empty_window()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var lists = test.Api.ListCalls[WatchedResource.EndpointSlices];
        await using var sampler = new SnapshotSampler(test.Resolver, Alpaca, AlpacaReady, ["10.1.0.11", "10.1.0.15"]);

        test.Api.Compact();
        var slice = Fixtures.AlpacaSlice7xkqp();
        slice.Endpoints[1].Conditions.Ready = false;
        test.Api.StallWatches();
        test.Api.Apply(slice);
        test.Api.ExpireWatches();

        await Eventually.True(() => CurrentUsable(test).SequenceEqual(["10.1.0.11", "10.1.0.15"]), "the re-list brings the change");
        Assert.True(test.Api.ListCalls[WatchedResource.EndpointSlices] > lists);
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task Resuming_from_a_compacted_version_relists()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        await using var sampler = new SnapshotSampler(test.Resolver, Alpaca, AlpacaReady, ["10.1.0.11", "10.1.0.12", "10.1.0.15", "10.1.0.31"]);

        test.Api.StallWatches();
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-late", ("10.1.0.31", null)));
        test.Api.Compact();
        test.Api.EndWatches();

        await Eventually.True(() => CurrentUsable(test).Contains("10.1.0.31"), "the re-list after 410 brings the change");
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task A_broken_stream_reconnects_after_a_back_off_and_catches_up()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        await using var sampler = new SnapshotSampler(test.Resolver, Alpaca, AlpacaReady, ["10.1.0.11", "10.1.0.12", "10.1.0.15", "10.1.0.32"]);

        test.Api.StallWatches();
        test.Api.BreakWatches();
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-after-break", ("10.1.0.32", true)));

        await Eventually.True(() => CurrentUsable(test).Contains("10.1.0.32"), "the change arrives after the reconnect", test.Time, TimeSpan.FromMilliseconds(200));
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task A_silent_stream_is_abandoned_after_its_deadline_plus_grace_and_not_before()
    {
        var grace = TimeSpan.FromSeconds(5);
        await using var test = new TestResolver(o =>
        {
            o.WatchTimeout = TimeSpan.FromSeconds(10);
            o.WatchGracePeriod = grace;
        });
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var watches = test.Api.WatchCalls[WatchedResource.EndpointSlices];
        var watch = test.Api.WatchHistory.Single(w => w.Resource == WatchedResource.EndpointSlices);

        // The watch was opened at the current fake instant (the clock has not moved), with a jittered timeoutSeconds: the
        // client's own deadline is that plus the grace period. The deadline timer runs on the fake clock and cancels the
        // watch inside Advance, so what is checked just before and just after it is exact, with no real-time wait.
        var deadline = TimeSpan.FromSeconds(watch.TimeoutSeconds) + grace;
        test.Api.StallWatches();
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-during-stall", ("10.1.0.33", true)));
        test.Time.Advance(deadline - TimeSpan.FromMilliseconds(1));
        Assert.False(watch.Cancelled, $"the silent watch was given up before its deadline ({deadline.TotalSeconds} s)");
        Assert.False(watch.Ended, "the silent watch ended before its deadline");
        Assert.Equal(watches, test.Api.WatchCalls[WatchedResource.EndpointSlices]);
        Assert.DoesNotContain("10.1.0.33", CurrentUsable(test));

        test.Time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.True(watch.Cancelled, $"the silent watch was not given up at its deadline ({deadline.TotalSeconds} s)");

        await Eventually.True(() => CurrentUsable(test).Contains("10.1.0.33"), "the dead watch is replaced and catches up", test.Time, TimeSpan.FromSeconds(1));
        Assert.True(test.Api.WatchCalls[WatchedResource.EndpointSlices] > watches);
    }

    [Fact]
    public async Task A_malformed_line_is_skipped_and_the_stream_goes_on()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var watches = test.Api.WatchCalls[WatchedResource.EndpointSlices];

        test.Api.InjectMalformedLine();
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-after-garbage", ("10.1.0.34", true)));

        await Eventually.True(() => CurrentUsable(test).Contains("10.1.0.34"), "the next event is applied");
        Assert.Equal(watches, test.Api.WatchCalls[WatchedResource.EndpointSlices]);
    }

    [Fact]
    public async Task During_an_outage_the_last_set_stays_its_age_grows_and_it_recovers()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        await using var sampler = new SnapshotSampler(test.Resolver, Alpaca, AlpacaReady, ["10.1.0.11", "10.1.0.12", "10.1.0.15", "10.1.0.35"]);

        var outage = new HttpRequestException("Connection refused");
        test.Api.ListFault = _ => outage;
        test.Api.WatchFault = _ => outage;
        test.Api.BreakWatches();
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Single().IsStale, "the watcher reports stale", test.Time, TimeSpan.FromSeconds(1));
        var status = test.Resolver.GetWatcherStatuses().Single();
        Assert.True(status.SinceLastContact > test.Options.StaleAfter);
        Assert.Contains("Connection refused", status.LastError, StringComparison.Ordinal);
        Assert.Equal(AlpacaReady, CurrentUsable(test));

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-after-outage", ("10.1.0.35", true)));
        test.Api.ListFault = null;
        test.Api.WatchFault = null;

        await Eventually.True(() => CurrentUsable(test).Contains("10.1.0.35"), "the watcher recovers", test.Time, TimeSpan.FromSeconds(1));
        await Eventually.True(() => !test.Resolver.GetWatcherStatuses().Single().IsStale, "staleness clears");
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task Repeated_failures_from_the_same_version_end_in_a_relist()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var lists = test.Api.ListCalls[WatchedResource.EndpointSlices];

        test.Api.WatchFault = q => q.Resource == WatchedResource.EndpointSlices ? FakeKubernetesApi.Status(500, "InternalError") : null;
        test.Api.BreakWatches();

        await Eventually.True(() => test.Api.ListCalls[WatchedResource.EndpointSlices] > lists, "a re-list", test.Time, TimeSpan.FromMilliseconds(500));
        test.Api.WatchFault = null;
    }

    [Fact]
    public async Task Unreachable_api_before_the_first_sync_fails_after_the_timeout_then_fast()
    {
        await using var test = new TestResolver();
        test.Api.ListFault = _ => new HttpRequestException("Connection refused");

        var pending = test.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask();
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().Single().LastError is not null, "the first list failed");
        await Eventually.True(() => pending.IsCompleted, "the lookup gives up", test.Time, TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<KubernetesApiUnavailableException>(() => pending);

        Assert.Contains("alpaca-prod", error.Message, StringComparison.Ordinal);
        Assert.Contains("demo", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Contains("Connection refused", StringComparison.Ordinal), error.Message);
        var second = test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.True(second.IsCompleted);
        await Assert.ThrowsAsync<KubernetesApiUnavailableException>(async () => await second);

        test.Api.ListFault = null;
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out _), "it syncs once the API is back", test.Time, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task First_lookup_never_sees_a_spurious_empty_set_while_the_api_is_slow()
    {
        await using var test = new TestResolver();
        var gate = new TaskCompletionSource();
        var slow = true;
        test.Api.ListFault = q => slow && q.Resource == WatchedResource.EndpointSlices ? new HttpRequestException("slow") : null;

        var pending = test.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask();
        await Eventually.True(() => test.Api.ListCalls.GetValueOrDefault(WatchedResource.EndpointSlices) > 0, "the slice list was tried");
        Assert.False(pending.IsCompleted);
        Assert.False(test.Resolver.TryGetSnapshot(Alpaca, out _));
        slow = false;

        await Eventually.True(() => pending.IsCompleted, "the lookup completes", test.Time, TimeSpan.FromMilliseconds(100));
        Assert.Equal(AlpacaReady, Usable(await pending));
    }
}
