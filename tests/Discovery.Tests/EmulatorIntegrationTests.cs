using Discovery.Testing;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>
/// The engine through the stock KubernetesClient against the API emulator, through every fault the emulator injects.
/// Each fault test ends with the correct set, and a reader sampling throughout never sees a set other than the one
/// before or the one after (never empty, never partial).
/// </summary>
public class EmulatorIntegrationTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");
    private static readonly string[] Before = ["10.1.0.11", "10.1.0.12", "10.1.0.15"];
    private static readonly string[] After = ["10.1.0.11", "10.1.0.15"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string[] Usable(ServiceEndpointSnapshot snapshot) => [.. snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal)];

    private static bool Shows(EmulatorHarness harness, string[] expected)
        => harness.Resolver.TryGetSnapshot(Alpaca, out var snapshot) && Usable(snapshot).SequenceEqual(expected);

    private static void MakeTwelveNotReady(EmulatorHarness harness)
        => harness.Emulator.SetEndpointConditions("demo", "alpaca-prod-7xkqp", "10.1.0.12", ready: false, serving: false, terminating: false);

    private static async Task<EmulatorHarness> SyncedAsync(Action<KubernetesDiscoveryOptions>? configure = null)
    {
        var harness = await EmulatorHarness.StartAsync(configure);
        var snapshot = await harness.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.Equal(Before, Usable(snapshot));
        await Eventually.True(() => harness.Emulator.OpenWatchCount >= 2, "the Service and slice watches are open");
        return harness;
    }

    [Fact]
    public async Task Fixture_services_resolve_through_the_stock_client()
    {
        await using var harness = await EmulatorHarness.StartAsync();

        var alpaca = await harness.Resolver.GetSnapshotAsync(Alpaca, Token);
        var bandicoot = await harness.Resolver.GetSnapshotAsync(TestResolver.Key("bandicoot-prod"), Token);
        var externalDb = await harness.Resolver.GetSnapshotAsync(TestResolver.Key("external-db"), Token);
        var docs = await harness.Resolver.GetSnapshotAsync(TestResolver.Key("docs"), Token);
        var headless = await harness.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-headless"), Token);
        var missing = await harness.Resolver.GetSnapshotAsync(TestResolver.Key("no-such-svc"), Token);

        Assert.Equal(Before, Usable(alpaca));
        Assert.Equal(1, alpaca.NotReadyCount);
        Assert.Equal(2, alpaca.TerminatingCount);
        Assert.Equal(4, bandicoot.SelectPort(80, null, "http", null).Targets.Length);
        Assert.Equal("kubernetes.io/h2c", bandicoot.SelectPort(null, "grpc", "http", null).AppProtocol);
        Assert.Equal("10.1.0.50:5432", externalDb.SelectPort(null, null, "http", null).Targets.Single().Authority);
        Assert.Equal("docs.example.com", docs.UsableEndpoints.Single().Address);
        Assert.True(headless.ServiceExists);
        Assert.Empty(headless.UsableEndpoints);
        Assert.False(missing.ServiceExists);
    }

    [Fact]
    public async Task Deleting_a_slice_and_then_the_service_is_followed()
    {
        await using var harness = await SyncedAsync();

        harness.Emulator.Delete<k8s.Models.V1EndpointSlice>("demo", "alpaca-prod-m2r9d");
        await Eventually.True(() => Shows(harness, ["10.1.0.11", "10.1.0.12"]), "the slice's endpoints leave");
        harness.Emulator.Delete<k8s.Models.V1Service>("demo", "alpaca-prod");

        await Eventually.True(() => harness.Resolver.TryGetSnapshot(Alpaca, out var s) && !s.ServiceExists && s.UsableEndpoints.IsEmpty, "the Service is gone");
    }

    [Fact]
    public async Task Configured_endpoints_source_and_pod_selectors_work_through_the_stock_client()
    {
        await using var harness = await EmulatorHarness.StartAsync(o =>
        {
            o.Source = EndpointSourceKind.Endpoints;
            o.PodSelectors["workers"] = "app=worker";
        });
        harness.Emulator.Apply(SourceTests.Pod("worker-a", "10.3.0.1", ready: true));
        harness.Emulator.Apply(SourceTests.Pod("worker-b", "10.3.0.2", ready: false));

        var alpaca = await harness.Resolver.GetSnapshotAsync(Alpaca, Token);
        var workers = await harness.Resolver.GetSnapshotAsync(TestResolver.Key("workers"), Token);

        Assert.Equal(EndpointSourceKind.Endpoints, alpaca.Source);
        Assert.Equal(["10.1.0.11", "10.1.0.12"], Usable(alpaca));
        Assert.Equal(EndpointSourceKind.Pods, workers.Source);
        Assert.Equal(["10.3.0.1"], Usable(workers));
        await Eventually.True(() => harness.Emulator.OpenWatchCount >= 3, "the watches are open");

        harness.Emulator.Apply(SourceTests.Pod("worker-b", "10.3.0.2", ready: true));
        await Eventually.True(() => harness.Resolver.TryGetSnapshot(TestResolver.Key("workers"), out var s) && s.UsableEndpoints.Length == 2, "the pod becoming ready is followed");
    }

    [Fact]
    public async Task A_change_reaches_readers_through_the_open_watch()
    {
        // What makes a change visible within milliseconds is that it is pushed on the open watch: no poll, no re-list, no
        // reconnect. The milliseconds themselves are measured in the benchmarks; a wall-clock bound here would only flake
        // on a loaded machine. (The resolver runs on the fake clock, which does not move: no timer can help.)
        await using var harness = await SyncedAsync();
        var lists = harness.Lists("endpointslices");
        var watches = harness.Watches("endpointslices");
        var published = new TaskCompletionSource<ServiceEndpointSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = harness.Resolver.Subscribe(Alpaca, s => { if (s.UsableEndpoints.Length == 2) { published.TrySetResult(s); } });

        MakeTwelveNotReady(harness);
        var snapshot = await published.Task.WaitAsync(TimeSpan.FromSeconds(30), Token);

        Assert.Equal(After, Usable(snapshot));
        Assert.Equal(lists, harness.Lists("endpointslices"));
        Assert.Equal(watches, harness.Watches("endpointslices"));
    }

    [Fact]
    public async Task Quiet_watches_that_the_server_ends_without_a_line_are_resumed_without_errors()
    {
        // Real time on purpose: the server ends each watch after timeoutSeconds of its own clock, with zero lines.
        await using var harness = await EmulatorHarness.StartAsync(o => { o.WatchTimeout = TimeSpan.FromSeconds(1); o.WatchGracePeriod = TimeSpan.FromSeconds(10); }, realTime: true);
        await harness.Resolver.GetSnapshotAsync(Alpaca, Token);
        var lists = harness.Lists("endpointslices");

        await Eventually.True(() => harness.Watches("endpointslices") >= 3, "the quiet watch is renewed twice");
        MakeTwelveNotReady(harness);

        await Eventually.True(() => Shows(harness, After), "the renewed watch still delivers");
        Assert.Equal(lists, harness.Lists("endpointslices"));
        Assert.DoesNotContain(harness.Logs.Collector.GetSnapshot(), r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning);
        Assert.False(harness.Resolver.GetWatcherStatuses().Single().IsStale);
    }

    [Fact]
    public async Task Dropped_streams_resume_and_catch_up()
    {
        await using var harness = await SyncedAsync();
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, Before, After);
        var lists = harness.Lists("endpointslices");

        harness.Emulator.Faults.DropWatches();
        MakeTwelveNotReady(harness);

        await Eventually.True(() => Shows(harness, After), "the change arrives on the resumed watch", harness.Time, TimeSpan.FromMilliseconds(100));
        Assert.Equal(lists, harness.Lists("endpointslices"));
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task A_stalled_stream_is_replaced_after_its_deadline()
    {
        await using var harness = await SyncedAsync(o => o.WatchTimeout = TimeSpan.FromSeconds(30));
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, Before, After);
        var watches = harness.Watches("endpointslices");

        harness.Emulator.Faults.StallWatches();
        MakeTwelveNotReady(harness);
        harness.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(Shows(harness, Before));

        await Eventually.True(() => harness.Watches("endpointslices") > watches, "a new watch replaces the silent one", harness.Time, TimeSpan.FromSeconds(2));
        harness.Emulator.Faults.ResumeWatches();
        await Eventually.True(() => Shows(harness, After), "the change arrives", harness.Time, TimeSpan.FromMilliseconds(200));
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task A_malformed_line_is_skipped_and_the_watch_resumes_without_a_relist()
    {
        await using var harness = await SyncedAsync();
        var lists = harness.Lists("endpointslices");

        harness.Emulator.Faults.InjectMalformedLine();
        MakeTwelveNotReady(harness);

        await Eventually.True(() => Shows(harness, After), "the event after the bad line is applied");
        Assert.Equal(lists, harness.Lists("endpointslices"));
        Assert.Contains(harness.Logs.Collector.GetSnapshot(), r => r.Message.Contains("malformed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_410_on_the_watch_relists_atomically()
    {
        await using var harness = await SyncedAsync();
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, Before, After);
        var lists = harness.Lists("endpointslices");

        harness.Emulator.Faults.FailNextWatchWith410();
        harness.Emulator.Faults.FailNextWatchWith410();
        harness.Emulator.Faults.DropWatches();
        await Eventually.True(() => harness.Lists("endpointslices") > lists, "the slices are re-listed", harness.Time, TimeSpan.FromMilliseconds(100));
        MakeTwelveNotReady(harness);

        await Eventually.True(() => Shows(harness, After), "watching resumes after the re-list", harness.Time, TimeSpan.FromMilliseconds(100));
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task A_410_on_the_relist_is_retried_and_the_old_set_stays_meanwhile()
    {
        await using var harness = await SyncedAsync();
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, Before, After);

        harness.Emulator.Faults.StallWatches();
        MakeTwelveNotReady(harness);
        harness.Emulator.CompactNow();
        harness.Emulator.Faults.FailNextListWith(410);
        harness.Emulator.Faults.FailNextListWith(410);
        harness.Emulator.Faults.ResumeWatches();
        harness.Emulator.Faults.DropWatches();

        await Eventually.True(() => Shows(harness, After), "the re-list eventually succeeds", harness.Time, TimeSpan.FromMilliseconds(100));
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task Compaction_while_disconnected_ends_in_a_relist()
    {
        await using var harness = await SyncedAsync();
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, Before, After);
        var lists = harness.Lists("endpointslices");

        // The change is made while the watch is stalled and cut before it can carry it; the events from the client's
        // resourceVersion on are compacted away, so the only way to the change is 410 Gone and a re-list.
        harness.Emulator.Faults.StallWatches();
        MakeTwelveNotReady(harness);
        harness.Emulator.CompactNow();
        harness.Emulator.Faults.DropWatches();
        harness.Emulator.Faults.ResumeWatches();

        await Eventually.True(() => Shows(harness, After), "the change arrives", harness.Time, TimeSpan.FromMilliseconds(100));
        await sampler.AssertNoViolationsAsync();
        Assert.True(harness.Lists("endpointslices") > lists, $"no EndpointSlice re-list after the compaction ({lists} list(s) before, {harness.Lists("endpointslices")} after)");
    }

    [Theory]
    [InlineData(OutageMode.RefuseConnections)]
    [InlineData(OutageMode.ServiceUnavailable)]
    public async Task An_outage_keeps_the_last_set_reports_staleness_and_recovers(OutageMode mode)
    {
        await using var harness = await SyncedAsync();
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, Before, After);

        await harness.Emulator.Faults.StartOutageAsync(mode);
        await Eventually.True(() => harness.Resolver.GetWatcherStatuses().Single().IsStale, "the watcher is reported stale", harness.Time, TimeSpan.FromSeconds(1));
        Assert.True(Shows(harness, Before));
        MakeTwelveNotReady(harness);
        await harness.Emulator.Faults.EndOutageAsync();

        await Eventually.True(() => Shows(harness, After), "the watcher recovers with the change", harness.Time, TimeSpan.FromMilliseconds(200));
        await Eventually.True(() => !harness.Resolver.GetWatcherStatuses().Single().IsStale, "staleness clears");
        await sampler.AssertNoViolationsAsync();
    }

    [Fact]
    public async Task Slow_responses_delay_but_do_not_break_discovery()
    {
        await using var harness = await EmulatorHarness.StartAsync();
        harness.Emulator.Faults.ResponseDelay = TimeSpan.FromMilliseconds(150);

        var snapshot = await harness.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.Equal(Before, Usable(snapshot));
        await Eventually.True(() => harness.Emulator.OpenWatchCount >= 2, "watches open");
        MakeTwelveNotReady(harness);

        await Eventually.True(() => Shows(harness, After), "the change arrives");
    }

    [Fact]
    public async Task Forbidden_endpointslices_fall_back_to_endpoints()
    {
        await using var harness = await EmulatorHarness.StartAsync();
        harness.Emulator.Access.Deny("demo", "endpointslices", EmulatorAccessRules.All);

        var snapshot = await harness.Resolver.GetSnapshotAsync(Alpaca, Token);

        Assert.Equal(EndpointSourceKind.Endpoints, snapshot.Source);
        Assert.Equal(["10.1.0.11", "10.1.0.12"], Usable(snapshot));
    }

    [Fact]
    public async Task Slices_that_may_be_listed_but_not_watched_fall_back_to_endpoints()
    {
        await using var harness = await EmulatorHarness.StartAsync();
        harness.Emulator.Access.Deny("demo", "endpointslices", "watch");

        await harness.Resolver.GetSnapshotAsync(Alpaca, Token);

        await Eventually.True(
            () => harness.Resolver.TryGetSnapshot(Alpaca, out var s) && s.Source == EndpointSourceKind.Endpoints && Usable(s).SequenceEqual(["10.1.0.11", "10.1.0.12"]),
            "the watcher switches to Endpoints");
        var endpoints = Fixtures.AlpacaEndpoints();
        endpoints.Subsets[0].NotReadyAddresses = null;
        harness.Emulator.Apply(endpoints);
        await Eventually.True(() => harness.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Length == 2 && s.NotReadyCount == 0, "Endpoints changes are watched");
    }

    [Fact]
    public async Task Forbidden_services_name_the_verb_resource_and_namespace()
    {
        await using var harness = await EmulatorHarness.StartAsync();
        harness.Emulator.Access.Deny("demo", "services", EmulatorAccessRules.All);

        var error = await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await harness.Resolver.GetSnapshotAsync(Alpaca, Token));

        Assert.Equal("services", error.Resource);
        Assert.Equal("list", error.Verb);
        Assert.Contains("namespace 'demo'", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot list resource", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_list_the_server_never_answers_is_cancelled_at_the_request_timeout_and_retried()
    {
        await using var harness = await EmulatorHarness.StartAsync(o =>
        {
            o.RequestTimeout = TimeSpan.FromSeconds(2);
            o.InitialSyncTimeout = TimeSpan.FromMinutes(1);
        });
        // Real time on the emulator's side: only the resolver's (fake) request timeout can end this list.
        harness.Emulator.Faults.ResponseDelay = TimeSpan.FromHours(1);

        var pending = harness.Resolver.GetSnapshotAsync(Alpaca, Token).AsTask();
        await Eventually.True(
            () => harness.Logs.Collector.GetSnapshot().Any(r => r.Exception is TimeoutException),
            "the hung list times out",
            harness.Time,
            TimeSpan.FromMilliseconds(250));
        harness.Emulator.Faults.ResponseDelay = TimeSpan.Zero;

        // The retried list runs over real loopback HTTP under the same 2 s timeout on the fake clock. At 250 ms per 5 ms
        // poll it had ~40 ms of real time to answer, and a loaded machine missed that on every retry until the lookup gave
        // up. Fake time now runs slower than real time: each retry gets seconds to answer, a list sent before the delay was
        // lifted still times out, and the back-off (at most 1 s) still ends.
        await Eventually.True(() => pending.IsCompleted, "the retried list syncs", harness.Time, TimeSpan.FromMilliseconds(2));

        Assert.Equal(Before, Usable(await pending));
        Assert.True(harness.Lists("services") >= 2, "the abandoned list was retried");
    }
}
