using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Testing.Tests;

/// <summary>Watch semantics: initial events, resume, selector transitions, bookmarks and timeouts.</summary>
public sealed class WatchTests
{
    [Fact]
    public async Task Without_resource_version_the_watch_starts_with_the_current_objects()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.Apply(EmulatorObjects.EndpointSlice("demo", "alpaca-prod", "a", 80, "http", ["10.1.0.1"]));
        emulator.Apply(EmulatorObjects.EndpointSlice("demo", "alpaca-prod", "b", 80, "http", ["10.1.0.2"]));
        emulator.Apply(EmulatorObjects.EndpointSlice("demo", "other", "c", 80, "http", ["10.1.0.3"]));
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();

        var seen = new List<(WatchEventType, string)>();
        await foreach (var (type, slice) in client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", labelSelector: "kubernetes.io/service-name=alpaca-prod", cancellationToken: deadline.Token))
        {
            seen.Add((type, slice.Metadata.Name));
            if (seen.Count == 2)
            {
                break;
            }
        }

        Assert.Equal([(WatchEventType.Added, "a"), (WatchEventType.Added, "b")], seen.OrderBy(s => s.Item2));
    }

    [Fact]
    public async Task Objects_entering_and_leaving_a_selector_arrive_as_added_and_deleted()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var slice = emulator.Apply(EmulatorObjects.EndpointSlice("demo", "alpaca-prod", "a", 80, "http", ["10.1.0.1"]));
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", labelSelector: "tier=backend", resourceVersion: slice.Metadata.ResourceVersion, cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        slice.Metadata.Labels["tier"] = "backend";
        var labelled = emulator.Apply(slice);
        Assert.True(await next);
        Assert.Equal((WatchEventType.Added, labelled.Metadata.ResourceVersion), (events.Current.Item1, events.Current.Item2.Metadata.ResourceVersion));

        labelled.Metadata.Labels.Remove("tier");
        var unlabelled = emulator.Apply(labelled);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(WatchEventType.Deleted, events.Current.Item1);
        Assert.Equal(unlabelled.Metadata.ResourceVersion, events.Current.Item2.Metadata.ResourceVersion);
        Assert.Equal("backend", events.Current.Item2.Metadata.Labels["tier"]);
    }

    [Fact]
    public async Task Deleted_event_carries_the_deletion_revision()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var slice = emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: slice.Metadata.ResourceVersion, cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        Assert.True(emulator.Delete<V1EndpointSlice>("demo", slice.Metadata.Name));

        Assert.True(await next);
        Assert.Equal(WatchEventType.Deleted, events.Current.Item1);
        Assert.Equal(emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture), events.Current.Item2.Metadata.ResourceVersion);
        Assert.Null(events.Current.Item2.Metadata.DeletionTimestamp);
    }

    [Fact]
    public async Task Bookmarks_come_before_the_deadline_only_after_a_newer_event_of_the_type()
    {
        var time = new FakeTimeProvider();
        await using var emulator = await TestEmulator.StartAsync(o => o.TimeProvider = time);
        var slice = emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        emulator.ApplyServiceWithEndpoints("demo", "bandicoot-prod", 8080, ["10.1.0.2"]);
        var start = emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            "demo", labelSelector: "kubernetes.io/service-name=alpaca-prod", resourceVersion: start, allowWatchBookmarks: true, timeoutSeconds: 10, cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        // A change the selector filters out still moves the bookmark's revision.
        emulator.SetEndpointConditions("demo", "bandicoot-prod-emulated", "10.1.0.2", ready: false);
        var filteredRevision = emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);
        await emulator.WaitForWatchesIdleAsync(deadline.Token);
        Assert.False(next.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(8));

        Assert.True(await next);
        Assert.Equal(WatchEventType.Bookmark, events.Current.Item1);
        Assert.Equal(filteredRevision, events.Current.Item2.Metadata.ResourceVersion);
        Assert.Null(events.Current.Item2.Metadata.Name);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await events.MoveNextAsync());
        Assert.Equal(slice.Metadata.ResourceVersion, emulator.Get<V1EndpointSlice>("demo", slice.Metadata.Name)!.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Quiet_watch_gets_no_bookmark_and_ends_cleanly_at_the_timeout()
    {
        var time = new FakeTimeProvider();
        await using var emulator = await TestEmulator.StartAsync(o => o.TimeProvider = time);
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var deadline = TestEmulator.Deadline();

        var request = http.GetAsync($"apis/discovery.k8s.io/v1/namespaces/demo/endpointslices?allowWatchBookmarks=true&resourceVersion={emulator.CurrentResourceVersion}&timeoutSeconds=70&watch=true", HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        using var response = await request;
        Assert.Equal("application/json", response.Content.Headers.ContentType?.ToString());
        Assert.True(response.Headers.TransferEncodingChunked);
        var body = response.Content.ReadAsStringAsync(deadline.Token);
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        time.Advance(TimeSpan.FromSeconds(70));

        Assert.Equal("", await body);
        Assert.Equal(0, emulator.OpenWatchCount);
    }
}
