using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Http.Tests;

/// <summary>Issue #13: one clock on the handler path. An attempt's latency is read from the client's TimeProvider, as ejections are.</summary>
public sealed class ClockTests
{
    [Fact]
    public async Task An_attempts_latency_is_measured_on_the_clients_clock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var resolver = new FakeEndpointResolver();
        resolver.Publish(FakeEndpointResolver.Key("alpaca-prod"), FakeEndpointResolver.Endpoint("10.0.0.1", 8080, "pod-1"));
        var policy = new RecordingPolicy();

        // The backend "takes" 250 ms of the fake clock and no real time.
        var inner = new RecordingHandler(_ =>
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        using var client = new HttpClient(new DiscoveryHttpHandler(resolver, new ServiceHostParser("default"), new DiscoveryHttpClientOptions { Policy = policy }, timeProvider: time) { InnerHandler = inner });

        // The first response of an endpoint is not a latency sample (connection setup, cold start); the second is.
        for (var i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync("http://alpaca-prod/items", TestContext.Current.CancellationToken);
            response.EnsureSuccessStatusCode();
        }

        Assert.Equal(TimeSpan.FromMilliseconds(250), policy.Last!.LatencyEstimate);
    }

    private sealed class RecordingPolicy : ILoadBalancingPolicy
    {
        public string Name => "Recording";

        public DestinationState? Last { get; private set; }

        public DestinationState? PickDestination(in LoadBalancingContext context, IReadOnlyList<DestinationState> destinations)
            => Last = destinations[0];
    }
}
