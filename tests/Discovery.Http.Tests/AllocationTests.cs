using System.Net;

namespace Discovery.Http.Tests;

/// <summary>
/// The handler's warm request path allocates no more than the least any such handler must: the floor, a handler that only
/// points the request at one fixed pod <see cref="Uri"/>, sets the Host header and restores both. Measured in-process with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> over many requests through a stub primary handler (no network), so that a
/// per-request allocation that creeps back into the request path fails here rather than in a benchmark nobody re-ran.
/// </summary>
/// <remarks>
/// Alone in its collection, run after the parallel ones: an activity or meter listener of another test (listening to
/// <c>Discovery.Http</c>) would make the attempt's activity and instruments allocate, which is by design and not measured here.
/// </remarks>
[Collection(nameof(AllocationTests))]
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationTests
{
    private const int Requests = 1_000;
    private const int Rounds = 5;

    // What the handler's awaiting state machine holds beyond the floor's (the request's host entry, destination set and
    // destination, start, activity, token and what to restore): 72 B on x64 when this test was written. It must not grow.
    private const double MaxStateMachineExcess = 72;

    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");
    private static readonly Uri ServiceUri = new("http://alpaca-prod/api/items?page=2");
    private static readonly Uri PodUri = new("http://10.0.0.1:8080/api/items?page=2");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_warm_request_through_the_handler_allocates_no_more_than_the_floor(bool withHeader)
    {
        var resolver = new FakeEndpointResolver();
        resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint("10.0.0.1", 8080, "pod-1"),
            FakeEndpointResolver.Endpoint("10.0.0.2", 8080, "pod-2"),
            FakeEndpointResolver.Endpoint("10.0.0.3", 8080, "pod-3"));
        using var ours = new HttpMessageInvoker(new DiscoveryHttpHandler(resolver, new ServiceHostParser("default")) { InnerHandler = new CachedResponseHandler() });
        using var floor = new HttpMessageInvoker(new RewriteOnlyHandler(PodUri) { InnerHandler = new CachedResponseHandler() });

        var floorBytes = Measure(floor, withHeader);
        var oursBytes = Measure(ours, withHeader);
        TestContext.Current.TestOutputHelper?.WriteLine($"per request: floor {floorBytes:F1} B, ours {oursBytes:F1} B");

        // Per request, to well under one object: any allocation of the handler's own on the warm path is at least 24 B.
        Assert.True(oursBytes <= floorBytes + 1, $"The handler allocates {oursBytes:F1} B per warm request; the floor allocates {floorBytes:F1} B.");
    }

    [Fact]
    public async Task A_warm_request_allocates_no_more_than_the_floor_with_the_core_resolver_holding_snapshots()
    {
        // The core's own resolver, synced against the emulator: the host entry holds the snapshot and only checks it.
        await using var cluster = await EmulatedCluster.StartAsync();
        cluster.Emulator.ApplyServiceWithEndpoints("default", "alpaca-prod", 8080, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], withEndpoints: false);
        await cluster.WaitForSnapshotAsync("alpaca-prod", s => s.Endpoints.Length == 3);
        var parser = (ServiceHostParser)cluster.Provider.GetService(typeof(ServiceHostParser))!;
        using var ours = new HttpMessageInvoker(new DiscoveryHttpHandler(cluster.Resolver, parser) { InnerHandler = new CachedResponseHandler() });
        using var floor = new HttpMessageInvoker(new RewriteOnlyHandler(PodUri) { InnerHandler = new CachedResponseHandler() });

        var floorBytes = Measure(floor, withHeader: true);
        var oursBytes = Measure(ours, withHeader: true);
        TestContext.Current.TestOutputHelper?.WriteLine($"per request: floor {floorBytes:F1} B, ours {oursBytes:F1} B");
        Assert.True(oursBytes <= floorBytes + 1, $"The handler allocates {oursBytes:F1} B per warm request; the floor allocates {floorBytes:F1} B.");
    }

    [Fact]
    public void A_request_whose_response_comes_later_allocates_one_small_state_machine_more_than_the_floor()
    {
        // As with SocketsHttpHandler: the inner send returns before the response is there. The handler then awaits it in one
        // async method whose state machine holds the request's state; the floor awaits it too, holding less.
        var resolver = new FakeEndpointResolver();
        resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint("10.0.0.1", 8080, "pod-1"), FakeEndpointResolver.Endpoint("10.0.0.2", 8080, "pod-2"));
        var oursInner = new LaterResponseHandler();
        var floorInner = new LaterResponseHandler();
        using var ours = new HttpMessageInvoker(new DiscoveryHttpHandler(resolver, new ServiceHostParser("default")) { InnerHandler = oursInner });
        using var floor = new HttpMessageInvoker(new RewriteOnlyHandler(PodUri) { InnerHandler = floorInner });

        var floorBytes = Measure(floor, withHeader: true, floorInner);
        var oursBytes = Measure(ours, withHeader: true, oursInner);
        TestContext.Current.TestOutputHelper?.WriteLine($"per request: floor {floorBytes:F1} B, ours {oursBytes:F1} B");
        Assert.True(oursBytes <= floorBytes + MaxStateMachineExcess, $"The handler allocates {oursBytes:F1} B per request answered later; the floor allocates {floorBytes:F1} B.");
    }

    [Fact]
    public void The_measurement_sees_one_extra_allocation_per_request()
    {
        // The test above would pass vacuously if the measurement missed the handler's allocations: one small object per request
        // on top of the floor must show.
        using var floor = new HttpMessageInvoker(new RewriteOnlyHandler(PodUri) { InnerHandler = new CachedResponseHandler() });
        using var heavier = new HttpMessageInvoker(new RewriteOnlyHandler(PodUri, allocate: true) { InnerHandler = new CachedResponseHandler() });
        var floorBytes = Measure(floor, withHeader: false);
        var heavierBytes = Measure(heavier, withHeader: false);
        Assert.True(heavierBytes >= floorBytes + 24, $"floor {floorBytes:F1} B, one object more {heavierBytes:F1} B per request.");
    }

    /// <summary>Bytes allocated per request on this thread, the least of several rounds (after a warm-up round).</summary>
    private static double Measure(HttpMessageInvoker invoker, bool withHeader, LaterResponseHandler? later = null)
    {
        var least = long.MaxValue;
        for (var round = 0; round <= Rounds; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Requests; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, ServiceUri);
                if (withHeader)
                {
                    request.Headers.TryAddWithoutValidation("Accept", "application/json");
                }

                var sent = invoker.SendAsync(request, CancellationToken.None);
                later?.Answer();
                if (!sent.IsCompletedSuccessfully || sent.Result.StatusCode != HttpStatusCode.OK || request.RequestUri != ServiceUri)
                {
                    throw new InvalidOperationException("The request did not complete synchronously with the stub's 200, or was not restored.");
                }
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round > 0)
            {
                least = Math.Min(least, allocated);
            }
        }

        return (double)least / Requests;
    }

    /// <summary>The floor: one fixed pod URI, the Host header, both restored; nothing looked up, picked or recorded.</summary>
    private sealed class RewriteOnlyHandler(Uri pod, bool allocate = false) : DelegatingHandler
    {
        public object? Last { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var original = request.RequestUri!;
            request.RequestUri = pod;
            request.Headers.Host = original.Host;
            if (allocate)
            {
                Last = new object();
            }

            var sent = base.SendAsync(request, cancellationToken);
            if (sent.IsCompleted)
            {
                Restore(request, original);
                return sent;
            }

            return CompleteAsync(sent, request, original);
        }

        private static async Task<HttpResponseMessage> CompleteAsync(Task<HttpResponseMessage> sent, HttpRequestMessage request, Uri original)
        {
            try
            {
                return await sent.ConfigureAwait(false);
            }
            finally
            {
                Restore(request, original);
            }
        }

        private static void Restore(HttpRequestMessage request, Uri original)
        {
            request.RequestUri = original;
            request.Headers.Host = null;
        }
    }

    /// <summary>Answers each request only when told to (after the send returned), with the same 200; the continuation runs inline.</summary>
    private sealed class LaterResponseHandler : HttpMessageHandler
    {
        private static readonly HttpResponseMessage Ok = new(HttpStatusCode.OK);
        private TaskCompletionSource<HttpResponseMessage>? _pending;

        public void Answer() => _pending!.SetResult(Ok);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _pending = new TaskCompletionSource<HttpResponseMessage>();
            return _pending.Task;
        }
    }

    /// <summary>Answers every request with the same completed 200, allocating nothing.</summary>
    private sealed class CachedResponseHandler : HttpMessageHandler
    {
        private readonly Task<HttpResponseMessage> _response = Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => _response;
    }
}
