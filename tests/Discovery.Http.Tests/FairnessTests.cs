using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Http.Tests;

/// <summary>
/// Issue #11: equal pods get equal shares with the default policy, also when one pod's first response is slow (connection
/// setup, cold start), while a pod that stays slow is still avoided.
/// </summary>
public sealed class FairnessTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    // Simulated service times on the client's clock (a FakeTimeProvider that each response moves forward): a pod's cold first
    // response takes this long, every other response ServiceTime. The handler measures latency on that clock, so what the
    // policy sees is exactly this and not the scheduling noise of a loaded machine (a fresh-clone run at load ~45 once
    // failed the real-clock version of this test).
    private static readonly TimeSpan ColdStart = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan ServiceTime = TimeSpan.FromMilliseconds(2);

    [Theory]
    [InlineData(3, 300, 1)]
    [InlineData(3, 2400, 8)]
    [InlineData(2, 100, 1)]
    public async Task Equal_pods_get_equal_shares_when_one_pods_first_response_is_slow(int pods, int requests, int concurrency)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var backends = await Task.WhenAll(Enumerable.Range(0, pods).Select(i => Backend.StartAsync($"pod-{i}")));
        var coldFirst = 0;
        for (var i = 0; i < backends.Length; i++)
        {
            var backend = backends[i];
            var cold = i == 0;
            backend.Behavior = async context =>
            {
                time.Advance(cold && Interlocked.Exchange(ref coldFirst, 1) == 0 ? ColdStart : ServiceTime);
                await context.Response.WriteAsync(backend.Name);
            };
        }

        // The default policy with a seeded source of randomness: the random part of every run is the same.
        var policy = new PowerOfTwoChoicesPolicy(new LockedRandom(11));
        await using var services = TestServices.Create(s => s.AddHttpClient("fair").AddKubernetesDiscovery(o => o.Policy = policy), timeProvider: time);
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);
        var client = services.Client("fair");

        var remaining = requests;
        async Task WorkerAsync()
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync, TestContext.Current.CancellationToken)));

        Assert.Equal(requests, backends.Sum(b => b.Requests));

        // Three pods: each at least 25 % (issue #11's bound; a fair share is 33 %). Two pods: each at least 30 % (the issue saw 8 % or
        // less in 19 runs of 20). At c=8 requests overlap, so a response's latency also counts the clock moves of the responses
        // that finished during it: the bounds leave room for that.
        var least = pods == 3 ? requests / 4 : requests * 3 / 10;
        Assert.All(backends, b => Assert.True(b.Requests >= least, $"{b.Name} got {b.Requests} of {requests}: {string.Join(" / ", backends.Select(x => x.Requests))}"));
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_pod_that_stays_twice_as_slow_gets_less_traffic_under_sequential_load()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var backends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Backend.StartAsync($"pod-{i}")));
        for (var i = 0; i < backends.Length; i++)
        {
            var backend = backends[i];

            // Simulated service times on the client's clock: the first pod takes twice as long as the others, every time. (On the
            // real clock, 40 ms against 20 ms drowned in scheduling delays at load ~50 on 2 cores: a fresh-clone run saw 37 / 55 / 58.)
            var serviceTime = TimeSpan.FromMilliseconds(i == 0 ? 40 : 20);
            backend.Behavior = async context =>
            {
                time.Advance(serviceTime);
                await context.Response.WriteAsync(backend.Name);
            };
        }

        await using var services = TestServices.Create(
            s => s.AddHttpClient("fair").AddKubernetesDiscovery(o => o.Policy = new PowerOfTwoChoicesPolicy(new LockedRandom(5))),
            timeProvider: time);
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);
        var client = services.Client("fair");
        for (var i = 0; i < 150; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }

        // Even spreading would send it 50, as many as each of the others.
        var slow = backends[0].Requests;
        Assert.True(slow * 3 < Math.Min(backends[1].Requests, backends[2].Requests) * 2, $"{string.Join(" / ", backends.Select(b => b.Requests))}");
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public void One_slow_response_steers_traffic_for_less_than_a_second()
    {
        var time = new FakeTimeProvider();
        var destinations = new[] { Destination("10.0.0.1", time), Destination("10.0.0.2", time) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var sequence = new SequenceCounter();
        var policy = new PowerOfTwoChoicesPolicy(new Random(1));
        DestinationState Pick() => policy.PickDestination(new LoadBalancingContext(request, Alpaca, 0, sequence), destinations)!;

        // Both warmed up at 5 ms, each first response (connection setup) 150 ms.
        foreach (var destination in destinations)
        {
            destination.Statistics.RecordLatency(TimeSpan.FromMilliseconds(150));
            for (var i = 0; i < 5; i++)
            {
                destination.Statistics.RecordLatency(TimeSpan.FromMilliseconds(5));
            }
        }

        // Sequential requests every 10 ms; one response of the first pod takes 150 ms.
        destinations[0].Statistics.RecordLatency(TimeSpan.FromMilliseconds(150));
        var avoided = TimeSpan.Zero;
        while (Pick() != destinations[0])
        {
            destinations[1].Statistics.RecordLatency(TimeSpan.FromMilliseconds(5));
            time.Advance(TimeSpan.FromMilliseconds(10));
            avoided += TimeSpan.FromMilliseconds(10);
            Assert.True(avoided < TimeSpan.FromSeconds(1), "the outlier still steers traffic after a second");
        }
    }

    [Fact]
    public void Sequential_picks_of_equal_destinations_alternate_evenly()
    {
        var time = new FakeTimeProvider();
        var destinations = new[] { Destination("10.0.0.1", time), Destination("10.0.0.2", time), Destination("10.0.0.3", time) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var sequence = new SequenceCounter();
        var policy = new PowerOfTwoChoicesPolicy(new Random(2));
        var counts = destinations.ToDictionary(d => d, _ => 0);
        for (var i = 0; i < 300; i++)
        {
            var picked = policy.PickDestination(new LoadBalancingContext(request, Alpaca, 0, sequence), destinations)!;
            counts[picked]++;
            picked.Statistics.RecordLatency(TimeSpan.FromMilliseconds(2 + (i % 7)));
            time.Advance(TimeSpan.FromMilliseconds(3));
        }

        // Any pair of random picks contains one of the two least recently picked: no destination falls far behind.
        Assert.All(counts.Values, count => Assert.InRange(count, 90, 110));
    }

    private static DestinationState Destination(string address, TimeProvider time)
    {
        var target = new EndpointTarget(FakeEndpointResolver.Endpoint(address, 8080), 8080);
        return new DestinationState(target, new EndpointStatistics(target.Authority, time));
    }

    /// <summary>A seeded <see cref="Random"/> that concurrent requests can share.</summary>
    private sealed class LockedRandom(int seed) : Random(seed)
    {
        private readonly Lock _lock = new();

        public override int Next(int maxValue)
        {
            lock (_lock)
            {
                return base.Next(maxValue);
            }
        }
    }
}
