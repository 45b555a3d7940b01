namespace Discovery.Http.Tests;

public sealed class PolicyTests
{
    private static readonly ServiceKey Service = FakeEndpointResolver.Key("alpaca-prod");

    private static DestinationState[] Destinations(int count)
        => [.. Enumerable.Range(0, count).Select(i => new DestinationState(new EndpointTarget(FakeEndpointResolver.Endpoint($"10.0.0.{i + 1}", 8080, $"pod-{i}"), 8080)))];

    private static Dictionary<DestinationState, int> Distribution(ILoadBalancingPolicy policy, DestinationState[] destinations, int picks)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var sequence = new SequenceCounter();
        var counts = destinations.ToDictionary(d => d, _ => 0);
        for (var i = 0; i < picks; i++)
        {
            var picked = policy.PickDestination(new LoadBalancingContext(request, Service, 0, sequence), destinations);
            counts[picked!]++;
        }

        return counts;
    }

    [Fact]
    public void RoundRobin_visits_each_destination_in_turn()
    {
        var destinations = Destinations(3);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var sequence = new SequenceCounter();
        var policy = new RoundRobinPolicy();
        var order = Enumerable.Range(0, 6).Select(_ => policy.PickDestination(new LoadBalancingContext(request, Service, 0, sequence), destinations)).ToArray();
        Assert.Equal([destinations[0], destinations[1], destinations[2], destinations[0], destinations[1], destinations[2]], order);
        Assert.All(Distribution(policy, destinations, 300).Values, count => Assert.Equal(100, count));
    }

    [Fact]
    public void Random_is_uniform_within_statistical_bounds()
    {
        // 4000 picks over 4 destinations: mean 1000, standard deviation about 27; the bound is over 5 sigma.
        var counts = Distribution(new RandomPolicy(new Random(1234)), Destinations(4), 4000);
        Assert.All(counts.Values, count => Assert.InRange(count, 850, 1150));
    }

    [Fact]
    public void PowerOfTwoChoices_is_uniform_when_load_is_even()
    {
        var counts = Distribution(new PowerOfTwoChoicesPolicy(new Random(42)), Destinations(4), 4000);
        Assert.All(counts.Values, count => Assert.InRange(count, 850, 1150));
    }

    [Fact]
    public void PowerOfTwoChoices_never_picks_the_most_loaded_destination()
    {
        var destinations = Destinations(3);
        destinations[1].Statistics.Started();
        destinations[1].Statistics.Started();
        var counts = Distribution(new PowerOfTwoChoicesPolicy(new Random(7)), destinations, 1000);
        Assert.Equal(0, counts[destinations[1]]);
        Assert.InRange(counts[destinations[0]], 400, 600);
    }

    [Fact]
    public void PowerOfTwoChoices_breaks_ties_by_lower_latency()
    {
        var destinations = Destinations(2);
        foreach (var destination in destinations)
        {
            // The first response (connection setup) does not count.
            destination.Statistics.RecordLatency(TimeSpan.FromMilliseconds(500));
        }

        destinations[0].Statistics.RecordLatency(TimeSpan.FromMilliseconds(200));
        destinations[1].Statistics.RecordLatency(TimeSpan.FromMilliseconds(2));
        var counts = Distribution(new PowerOfTwoChoicesPolicy(new Random(3)), destinations, 100);

        // The slow one is only probed: picked when it was not picked in the last 2n = 4 picks.
        Assert.InRange(counts[destinations[0]], 1, 20);
    }

    [Fact]
    public void Policies_handle_one_and_no_destination()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var one = Destinations(1);
        ILoadBalancingPolicy[] policies = [new PowerOfTwoChoicesPolicy(), new RoundRobinPolicy(), new RandomPolicy()];
        foreach (var policy in policies)
        {
            Assert.Same(one[0], policy.PickDestination(new LoadBalancingContext(request, Service, 0), one));
            Assert.Null(policy.PickDestination(new LoadBalancingContext(request, Service, 0), []));
        }
    }
}
