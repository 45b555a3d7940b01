using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Discovery.Testing.Tests;

/// <summary>Every fault, triggered from a test and observed through the stock client.</summary>
public sealed class FaultTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refused_connections_outage_then_recovery_on_the_same_port()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        var address = emulator.BaseAddress;
        await client.CoreV1.ListNamespaceAsync(cancellationToken: Token);

        await emulator.Faults.StartOutageAsync(OutageMode.RefuseConnections);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.CoreV1.ListNamespaceAsync(cancellationToken: Token));
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
        Assert.Equal(OutageMode.RefuseConnections, emulator.Faults.CurrentOutage);

        await emulator.Faults.EndOutageAsync();

        Assert.Equal(address, emulator.BaseAddress);
        Assert.NotEmpty((await client.CoreV1.ListNamespaceAsync(cancellationToken: Token)).Items);
        Assert.Null(emulator.Faults.CurrentOutage);
    }

    [Fact]
    public async Task Outage_cuts_an_open_watch()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture), cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        emulator.Faults.StartOutage(OutageMode.RefuseConnections);

        await AssertWatchEndsAsync(next);
        emulator.Faults.EndOutage();
    }

    [Fact]
    public async Task Service_unavailable_outage_answers_503()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();

        emulator.Faults.StartOutage(OutageMode.ServiceUnavailable);

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespaceAsync(cancellationToken: Token));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.Response.StatusCode);
        Assert.Contains("\"reason\":\"ServiceUnavailable\"", error.Response.Content, StringComparison.Ordinal);
        var watchError = await Assert.ThrowsAsync<HttpOperationException>(async () =>
        {
            await foreach (var _ in client.CoreV1.WatchListNamespaceAsync(cancellationToken: Token))
            {
            }
        });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, watchError.Response.StatusCode);

        emulator.Faults.EndOutage();
        Assert.NotEmpty((await client.CoreV1.ListNamespaceAsync(cancellationToken: Token)).Items);
    }

    [Fact]
    public async Task Dropped_watches_end_abruptly_and_the_server_keeps_serving()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var watch = client.CoreV1.WatchListNamespacedServiceAsync("default", resourceVersion: emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture), cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        emulator.Faults.DropWatches();

        await AssertWatchEndsAsync(next);
        Assert.NotEmpty((await client.CoreV1.ListNamespaceAsync(cancellationToken: Token)).Items);
    }

    [Fact]
    public async Task Stalled_watches_send_nothing_until_resumed()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture), cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        emulator.Faults.StallWatches();
        emulator.SetEndpointConditions("demo", "alpaca-prod-emulated", "10.1.0.1", ready: false);

        Assert.Equal(1, emulator.PendingWatchItems);
        Assert.False(next.IsCompleted);
        Assert.Equal(1, emulator.OpenWatchCount);

        emulator.Faults.ResumeWatches();

        Assert.True(await next);
        Assert.Equal(WatchEventType.Modified, events.Current.Item1);
        Assert.False(events.Current.Item2.Endpoints.Single().Conditions.Ready);
    }

    [Fact]
    public async Task Response_delay_slows_every_response()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        emulator.Faults.ResponseDelay = TimeSpan.FromMilliseconds(300);

        var stopwatch = Stopwatch.StartNew();
        await client.CoreV1.ListNamespaceAsync(cancellationToken: Token);

        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(290), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Malformed_line_fails_the_stock_client_watch_with_a_JsonException_not_on_error_and_a_new_watch_sees_the_change()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var errors = new List<Exception>();
        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture), onError: errors.Add, cancellationToken: deadline.Token);
        await using var events = watch.GetAsyncEnumerator(deadline.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);

        emulator.Faults.InjectMalformedLine();
        emulator.SetEndpointConditions("demo", "alpaca-prod-emulated", "10.1.0.1", ready: false);

        // KubernetesClient 21.0.8 surfaces the broken line from MoveNextAsync (not through onError): that watch is over,
        // and the change queued behind the bad line never reaches it.
        await Assert.ThrowsAnyAsync<JsonException>(() => next);
        Assert.Empty(errors);

        // The emulator sent the malformed line only once: a new watch (no resourceVersion: the current state as ADDED)
        // works and carries the change.
        var again = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", onError: errors.Add, cancellationToken: deadline.Token);
        var seen = 0;
        await foreach (var (type, slice) in again.WithCancellation(deadline.Token))
        {
            Assert.Equal(WatchEventType.Added, type);
            Assert.False(slice.Endpoints.Single().Conditions.Ready);
            seen++;
            break;
        }

        Assert.Equal(1, seen);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Fail_next_watch_with_410_sends_an_expired_error_event()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        emulator.Faults.FailNextWatchWith410();

        var error = await Assert.ThrowsAsync<KubernetesException>(async () =>
        {
            await foreach (var _ in client.CoreV1.WatchListNamespacedServiceAsync("default", resourceVersion: "1", onError: e => throw e, cancellationToken: deadline.Token))
            {
            }
        });

        Assert.Equal(410, error.Status.Code);
        Assert.Equal("Expired", error.Status.Reason);
        Assert.StartsWith("too old resource version: 1 (", error.Status.Message, StringComparison.Ordinal);

        // Only the next watch fails: this one opens normally.
        using var second = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var watch = client.CoreV1.WatchListNamespacedServiceAsync("default", onError: e => throw e, cancellationToken: second.Token);
        await using var events = watch.GetAsyncEnumerator(second.Token);
        var next = events.MoveNextAsync().AsTask();
        await emulator.WaitForOpenWatchesAsync(1, deadline.Token);
        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
    }

    [Fact]
    public async Task Fail_next_list_answers_the_status_once()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        emulator.Faults.FailNextListWith(500);

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespaceAsync(cancellationToken: Token));

        Assert.Equal(HttpStatusCode.InternalServerError, error.Response.StatusCode);
        Assert.NotEmpty((await client.CoreV1.ListNamespaceAsync(cancellationToken: Token)).Items);
    }

    [Fact]
    public async Task Compaction_makes_older_watches_expire()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var old = emulator.CurrentResourceVersion;
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);

        emulator.Faults.CompactNow();

        var error = await Assert.ThrowsAsync<KubernetesException>(async () =>
        {
            await foreach (var _ in client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: old.ToString(CultureInfo.InvariantCulture), onError: e => throw e, cancellationToken: deadline.Token))
            {
            }
        });
        Assert.Equal(410, error.Status.Code);
        Assert.Equal($"too old resource version: {old} ({emulator.CurrentResourceVersion})", error.Status.Message);

        var exact = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", resourceVersion: old.ToString(CultureInfo.InvariantCulture), resourceVersionMatch: "Exact", cancellationToken: deadline.Token));
        Assert.Equal(HttpStatusCode.Gone, exact.Response.StatusCode);
    }

    [Fact]
    public async Task Events_beyond_the_retained_window_expire()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.RetainedEvents = 5);
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var slice = emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        var start = slice.Metadata.ResourceVersion;
        for (var i = 0; i < 6; i++)
        {
            emulator.SetEndpointConditions("demo", slice.Metadata.Name, "10.1.0.1", ready: i % 2 == 0);
        }

        var error = await Assert.ThrowsAsync<KubernetesException>(async () =>
        {
            await foreach (var _ in client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: start, onError: e => throw e, cancellationToken: deadline.Token))
            {
            }
        });
        Assert.Equal(410, error.Status.Code);
    }

    [Fact]
    public async Task Requests_are_recorded_with_query_and_user_agent()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();

        await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", labelSelector: "kubernetes.io/service-name=alpaca-prod", cancellationToken: Token);

        var request = await emulator.WaitForRequestAsync(r => r.Path == "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices", TimeSpan.FromSeconds(30), Token);
        Assert.Equal("GET", request.Method);
        Assert.Contains("labelSelector=kubernetes.io%2Fservice-name%3Dalpaca-prod", request.PathAndQuery, StringComparison.Ordinal);
        Assert.Contains("watch=false", request.PathAndQuery, StringComparison.Ordinal);
        Assert.StartsWith("kubernetes-csharp/", request.UserAgent, StringComparison.Ordinal);
        Assert.False(request.IsWatch);
        Assert.True(emulator.RequestCount >= 1);
    }

    private static async Task AssertWatchEndsAsync(Task<bool> next)
    {
        try
        {
            Assert.False(await next.WaitAsync(TimeSpan.FromSeconds(30), Token));
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // The connection was cut mid-stream.
        }
    }
}
