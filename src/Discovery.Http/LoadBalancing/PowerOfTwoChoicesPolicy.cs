namespace Discovery.Http;

/// <summary>
/// Power of two choices: of two distinct endpoints picked at random, the one with fewer requests in flight; on a tie, the one
/// with clearly (twice and at least a millisecond) lower recent latency, else the first. Nearly as good as least-loaded over all endpoints, without scanning them, and without the
/// herding that always picking the single least-loaded endpoint causes when many clients share stale load information.
/// </summary>
public sealed class PowerOfTwoChoicesPolicy : ILoadBalancingPolicy
{
    // Below this, latency differences are noise (GC pauses, connection setup) rather than a slow endpoint.
    private static readonly TimeSpan SignificantLatencyDifference = TimeSpan.FromMilliseconds(1);

    private readonly Random _random;

    /// <summary>Creates the policy with <see cref="Random.Shared"/>.</summary>
    public PowerOfTwoChoicesPolicy()
        : this(Random.Shared)
    {
    }

    /// <summary>Creates the policy with a given source of randomness (for example a seeded one in tests).</summary>
    /// <param name="random">Must be safe for concurrent use when the client is used concurrently, as <see cref="Random.Shared"/> is.</param>
    public PowerOfTwoChoicesPolicy(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        _random = random;
    }

    /// <inheritdoc/>
    public string Name => LoadBalancingPolicyNames.PowerOfTwoChoices;

    /// <inheritdoc/>
    public DestinationState? PickDestination(in LoadBalancingContext context, IReadOnlyList<DestinationState> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        var count = destinations.Count;
        if (count <= 1)
        {
            return count == 0 ? null : destinations[0];
        }

        var first = _random.Next(count);
        var second = _random.Next(count - 1);
        if (second >= first)
        {
            second++;
        }

        var a = destinations[first];
        var b = destinations[second];
        var statisticsA = a.Statistics;
        var statisticsB = b.Statistics;
        var loadA = statisticsA.Outstanding;
        var loadB = statisticsB.Outstanding;
        if (loadA != loadB)
        {
            return loadA < loadB ? a : b;
        }

        // Equal load (usual at low concurrency): prefer the clearly faster one, else keep the random first pick. Chasing small
        // latency differences would pile every client onto whichever pod happened to answer fastest.
        // An estimate only fades, so when a's unfaded one is under the significant difference, or b has none, a cannot be
        // clearly slower: no clock read, no decay to compute.
        if (statisticsA.RawLatencyTicks < SignificantLatencyDifference.Ticks || statisticsB.RawLatencyTicks == 0)
        {
            return a;
        }

        var now = statisticsA.TimeProvider.GetTimestamp();
        var latencyA = statisticsA.GetLatencyEstimate(now);
        var latencyB = ReferenceEquals(statisticsA.TimeProvider, statisticsB.TimeProvider)
            ? statisticsB.GetLatencyEstimate(now)
            : statisticsB.GetLatencyEstimate();
        if (IsClearlySlower(latencyA, latencyB))
        {
            return b;
        }

        return a;
    }

    // An endpoint without a measurement yet is not known to be faster or slower than any other.
    private static bool IsClearlySlower(TimeSpan candidate, TimeSpan other)
        => other > TimeSpan.Zero && candidate - other >= SignificantLatencyDifference && candidate.Ticks >= other.Ticks * 2;
}
