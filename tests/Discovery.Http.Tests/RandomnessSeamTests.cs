namespace Discovery.Http.Tests;

/// <summary>
/// The random policies draw only from the <see cref="Random"/> they are given (the seam a test or an application can fix),
/// never from <see cref="Random.Shared"/> behind its back: with a scripted source every pick is known in advance.
/// </summary>
public sealed class RandomnessSeamTests
{
    private static readonly ServiceKey Service = FakeEndpointResolver.Key("alpaca-prod");

    private static DestinationState[] Destinations(int count)
        => [.. Enumerable.Range(0, count).Select(i => new DestinationState(new EndpointTarget(FakeEndpointResolver.Endpoint($"10.0.0.{i + 1}", 8080, $"pod-{i}"), 8080)))];

    [Fact]
    public void Random_picks_the_destination_the_injected_source_draws()
    {
        var destinations = Destinations(5);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var random = new ScriptedRandom(3, 0, 4, 4, 1);
        var policy = new RandomPolicy(random);

        var picks = Enumerable.Range(0, 5).Select(_ => policy.PickDestination(new LoadBalancingContext(request, Service, 0), destinations)).ToArray();

        Assert.Equal([destinations[3], destinations[0], destinations[4], destinations[4], destinations[1]], picks);
        Assert.Equal(5, random.Draws);
    }

    [Fact]
    public void Power_of_two_choices_picks_only_between_the_two_destinations_the_injected_source_draws()
    {
        // Every pair the policy can draw from four destinations: the first index out of 4, the second out of the other 3.
        var destinations = Destinations(4);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
        var sequence = new SequenceCounter();
        for (var first = 0; first < 4; first++)
        {
            for (var other = 0; other < 3; other++)
            {
                var second = other >= first ? other + 1 : other;
                var random = new ScriptedRandom(first, other);
                var picked = new PowerOfTwoChoicesPolicy(random).PickDestination(new LoadBalancingContext(request, Service, 0, sequence), destinations);

                Assert.True(
                    ReferenceEquals(picked, destinations[first]) || ReferenceEquals(picked, destinations[second]),
                    $"drew {first} and {second}, picked {picked}");
                Assert.Equal(2, random.Draws);
            }
        }
    }

    /// <summary>A <see cref="Random"/> that returns scripted values, and fails a test that draws more than it scripted.</summary>
    private sealed class ScriptedRandom(params int[] values) : Random
    {
        public int Draws { get; private set; }

        public override int Next(int maxValue)
        {
            Assert.True(Draws < values.Length, "the policy drew more values than scripted");
            var value = values[Draws++];
            Assert.InRange(value, 0, maxValue - 1);
            return value;
        }

        public override int Next() => throw new InvalidOperationException("unexpected draw");

        public override int Next(int minValue, int maxValue) => throw new InvalidOperationException("unexpected draw");

        public override double NextDouble() => throw new InvalidOperationException("unexpected draw");
    }
}
