using System.Collections.Concurrent;
using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Discovery.Tests;

/// <summary>
/// BRIEF rule: bad input never crashes and never misroutes; it is logged and skipped, and the last good set stays in use.
/// Objects of another Service or namespace, through the watcher as a misbehaving server would deliver them.
/// </summary>
public class UntrustedInputTests
{
    private const int ObjectSkippedEvent = 19;
    private const int EntriesSkippedEvent = 20;

    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string[] All(ServiceEndpointSnapshot snapshot) => [.. snapshot.Endpoints.Select(e => e.Address).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_slice_of_another_service_sent_on_the_watch_is_not_merged()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(loggerFactory: logs.Factory);
        var before = All(await test.Resolver.GetSnapshotAsync(Alpaca, Token));
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        test.Api.Inject(WatchedResource.EndpointSlices, WatchEventType.Added, Fixtures.Slice("bandicoot-prod", "intruder", ("10.9.9.9", true)));
        await AppliedInOrderAsync(test, "10.1.0.70");

        var snapshot = Current(test);
        Assert.DoesNotContain("10.9.9.9", All(snapshot));
        Assert.Equal([.. before, "10.1.0.70"], All(snapshot));
        var warning = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == ObjectSkippedEvent);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("intruder", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listed_slice_of_another_service_is_not_merged_and_is_logged_once_per_version()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(loggerFactory: logs.Factory);
        var intruder = Fixtures.Slice("bandicoot-prod", "intruder", ("10.9.9.9", true));
        intruder.Metadata.ResourceVersion = "7";
        test.Api.ListExtra = q => q.Resource == WatchedResource.EndpointSlices ? [intruder] : [];

        var snapshot = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var lists = test.Api.ListCalls[WatchedResource.EndpointSlices];
        test.Api.ExpireWatches();
        await Eventually.True(() => test.Api.ListCalls[WatchedResource.EndpointSlices] > lists && test.Api.ActiveWatchCount == 2, "the slices are listed again");
        await AppliedInOrderAsync(test, "10.1.0.70");

        Assert.DoesNotContain("10.9.9.9", All(snapshot));
        Assert.DoesNotContain("10.9.9.9", All(Current(test)));
        Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == ObjectSkippedEvent);
    }

    [Fact]
    public async Task A_slice_relabelled_to_another_service_stops_receiving_this_services_requests()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        await AppliedInOrderAsync(test, "10.1.0.80", "alpaca-prod-moving");

        // A conforming server reports this as DELETED; one that sends the new state must not leave its pods in this Service.
        test.Api.Inject(WatchedResource.EndpointSlices, WatchEventType.Modified, Fixtures.Slice("bandicoot-prod", "alpaca-prod-moving", ("10.1.0.80", true)));
        await AppliedInOrderAsync(test, "10.1.0.70");

        Assert.DoesNotContain("10.1.0.80", All(Current(test)));
    }

    [Fact]
    public async Task Endpoints_of_another_namespace_are_not_merged()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(o => o.Source = EndpointSourceKind.Endpoints, loggerFactory: logs.Factory);
        var before = All(await test.Resolver.GetSnapshotAsync(Alpaca, Token));
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var published = new ConcurrentQueue<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(Alpaca, published.Enqueue);

        var foreign = Fixtures.AlpacaEndpoints();
        foreign.Metadata.NamespaceProperty = "other";
        foreign.Subsets[0].Addresses[0].Ip = "10.9.9.9";
        test.Api.Inject(WatchedResource.Endpoints, WatchEventType.Modified, foreign);
        var marker = Fixtures.AlpacaEndpoints();
        marker.Subsets[0].Addresses.Add(new V1EndpointAddress { Ip = "10.1.0.70" });
        test.Api.Apply(marker);
        await Eventually.True(() => All(Current(test)).Contains("10.1.0.70"), "the later, genuine change arrives");

        Assert.DoesNotContain(published, p => All(p).Contains("10.9.9.9"));
        Assert.Equal([.. before, "10.1.0.70"], All(Current(test)));
        Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == ObjectSkippedEvent);
    }

    [Fact]
    public async Task A_service_object_of_another_namespace_does_not_replace_the_service()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var published = new ConcurrentQueue<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(Alpaca, published.Enqueue);

        var foreign = Fixtures.Service("alpaca-prod", ("http", 8080, 9999));
        foreign.Metadata.NamespaceProperty = "other";
        test.Api.Inject(WatchedResource.Services, WatchEventType.Modified, foreign);
        var edited = Fixtures.AlpacaService();
        edited.Spec.Ports[0].AppProtocol = "kubernetes.io/h2c";
        test.Api.Apply(edited);
        await Eventually.True(() => Current(test).ServiceInfo!.Ports[0].AppProtocol is not null, "the later, genuine edit arrives");

        Assert.DoesNotContain(published, p => p.ServiceInfo?.Ports.Any(port => port.TargetPort == "9999") != false);
        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Current(test).UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Pods_of_another_namespace_or_not_matching_the_selector_are_not_used()
    {
        await using var test = new TestResolver(o => o.PodSelectors["workers"] = "app=worker");
        test.Api.Apply(SourceTests.Pod("worker-a", "10.3.0.1", ready: true));
        var key = TestResolver.Key("workers");
        await test.Resolver.GetSnapshotAsync(key, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 1, "the pod watch is open");

        var elsewhere = SourceTests.Pod("worker-x", "10.9.9.9", ready: true);
        elsewhere.Metadata.NamespaceProperty = "other";
        test.Api.Inject(WatchedResource.Pods, WatchEventType.Added, elsewhere);
        var unselected = SourceTests.Pod("web-y", "10.9.9.10", ready: true);
        unselected.Metadata.Labels["app"] = "web";
        test.Api.Inject(WatchedResource.Pods, WatchEventType.Added, unselected);
        test.Api.Apply(SourceTests.Pod("worker-b", "10.3.0.2", ready: true));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(key, out var s) && s.UsableEndpoints.Length >= 2, "the genuine pod arrives");

        Assert.True(test.Resolver.TryGetSnapshot(key, out var snapshot));
        Assert.Equal(["10.3.0.1", "10.3.0.2"], All(snapshot));
    }

    [Fact]
    public async Task Invalid_addresses_in_endpoints_are_skipped_logged_once_per_version_and_the_rest_is_used()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(o => o.Source = EndpointSourceKind.Endpoints, loggerFactory: logs.Factory);
        var endpoints = Fixtures.AlpacaEndpoints();
        endpoints.Subsets[0].Addresses.Add(new V1EndpointAddress { Ip = "not-an-ip" });
        endpoints.Subsets[0].Addresses.Add(new V1EndpointAddress { Ip = "evil.example/x?" });
        endpoints.Subsets[0].Addresses.Add(new V1EndpointAddress { Ip = null });
        test.Api.Apply(endpoints);

        var snapshot = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        // Rebuilds from the unchanged Endpoints object (a Service edit, a re-list) must not log it again.
        var edited = Fixtures.AlpacaService();
        edited.Spec.Ports[0].AppProtocol = "kubernetes.io/h2c";
        test.Api.Apply(edited);
        await Eventually.True(() => Current(test).ServiceInfo!.Ports[0].AppProtocol is not null, "the Service edit rebuilds the snapshot");

        Assert.Equal(["10.1.0.11", "10.1.0.12"], snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal));
        var warning = Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == EntriesSkippedEvent);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Skipped 3 invalid entries", warning.Message, StringComparison.Ordinal);
    }

    /// <summary>Applies a genuine slice and waits for it: watch events are applied in order, so everything sent before it has been too.</summary>
    private static async Task AppliedInOrderAsync(TestResolver test, string address, string sliceName = "alpaca-prod-marker")
    {
        test.Api.Apply(Fixtures.Slice("alpaca-prod", sliceName, (address, true)));
        await Eventually.True(() => All(Current(test)).Contains(address), "the later, genuine change arrives");
    }

    [Fact]
    public async Task A_list_whose_items_all_lack_a_name_is_a_bad_list_logged_once_and_the_last_good_set_stays()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(o => o.IdleTimeout = TimeSpan.FromHours(1), loggerFactory: logs.Factory);
        var good = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var nameless = Fixtures.Slice("alpaca-prod", "nameless", ("10.9.9.9", true));
        nameless.Metadata.Name = null;
        test.Api.ListReplace = q => q.Resource == WatchedResource.EndpointSlices ? [null, nameless] : null;

        // The slices' watch expires; every re-list from now on answers only objects that cannot be held.
        var lists = test.Api.ListCalls[WatchedResource.EndpointSlices];
        test.Api.ExpireWatches();
        await Eventually.True(() => test.Api.ListCalls[WatchedResource.EndpointSlices] >= lists + 4, "the bad list is retried with back-off", test.Time, TimeSpan.FromMilliseconds(200));

        Assert.Same(good, Current(test));
        Assert.False(good.IsSuperseded);
        Assert.Single(logs.Collector.GetSnapshot(), r => r.Exception is MalformedListException);

        // A good list again: the watcher is back to normal, and its set is the same one.
        test.Api.ListReplace = null;
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the slices are watched again", test.Time, TimeSpan.FromMilliseconds(200));
        Assert.Same(good, Current(test));
    }

    private static ServiceEndpointSnapshot Current(TestResolver test)
        => test.Resolver.TryGetSnapshot(Alpaca, out var snapshot) ? snapshot : throw new InvalidOperationException("no snapshot");
}
