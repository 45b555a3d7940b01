namespace Discovery.Http;

/// <summary>An endpoint picked uniformly at random.</summary>
public sealed class RandomPolicy : ILoadBalancingPolicy
{
    private readonly Random _random;

    /// <summary>Creates the policy with <see cref="Random.Shared"/>.</summary>
    public RandomPolicy()
        : this(Random.Shared)
    {
    }

    /// <summary>Creates the policy with a given source of randomness (for example a seeded one in tests).</summary>
    /// <param name="random">Must be safe for concurrent use when the client is used concurrently, as <see cref="Random.Shared"/> is.</param>
    public RandomPolicy(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        _random = random;
    }

    /// <inheritdoc/>
    public string Name => LoadBalancingPolicyNames.Random;

    /// <inheritdoc/>
    public DestinationState? PickDestination(in LoadBalancingContext context, IReadOnlyList<DestinationState> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        return destinations.Count switch
        {
            0 => null,
            1 => destinations[0],
            var count => destinations[_random.Next(count)],
        };
    }
}
