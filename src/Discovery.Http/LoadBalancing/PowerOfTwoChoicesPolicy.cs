namespace Discovery.Http;

/// <summary>
/// Power of two choices: of two distinct endpoints picked at random, the one with fewer requests in flight; on a tie, the one
/// with clearly (half as much again and at least a millisecond) lower recent latency, else the one picked less recently; an
/// endpoint not picked in the last 2n picks is picked on a tie whatever its latency estimate says.
/// Nearly as good as least-loaded over all endpoints, without scanning them, and without the herding that always picking the
/// single least-loaded endpoint causes when many clients share stale load information.
/// </summary>
/// <remarks>
/// Ties are the rule at low concurrency (every count is 0 between sequential requests). Breaking them by latency alone lets
/// noise decide: the endpoint that happened to answer faster keeps winning and the other one's estimate is never refreshed.
/// Breaking them by the less recently picked endpoint spreads sequential traffic evenly; the latency estimate only overrides
/// that when the difference is clear, and it ignores an endpoint's first response (connection setup) and caps outliers
/// (see <see cref="DestinationState.LatencyEstimate"/>), so that one slow response does not steer traffic for more than about a second.
/// </remarks>
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
        // An endpoint not picked in the last two rounds over the set has an estimate nobody refreshed: it is probed rather than
        // trusted, so that noise or one slow response cannot starve it, and a slow endpoint still gets at most one pick in 2n.
        var sequence = context.NextSequence() + 1;
        var picked = Choose(a, b, sequence - (2L * count));
        picked.Statistics.MarkPicked(sequence);
        return picked;
    }

    // An endpoint without a measurement yet is not known to be faster or slower than any other.
    private static bool IsClearlySlower(TimeSpan candidate, TimeSpan other)
        => other > TimeSpan.Zero && candidate - other >= SignificantLatencyDifference && candidate.Ticks >= other.Ticks * 3 / 2;

    private static DestinationState Choose(DestinationState a, DestinationState b, long staleBefore)
    {
        var statisticsA = a.Statistics;
        var statisticsB = b.Statistics;
        var loadA = statisticsA.Outstanding;
        var loadB = statisticsB.Outstanding;
        if (loadA != loadB)
        {
            return loadA < loadB ? a : b;
        }

        // Equal load (usual at low concurrency): prefer the clearly faster one, else the one picked less recently. Chasing small
        // latency differences would pile every client onto whichever pod happened to answer fastest.
        var older = statisticsA.LastPicked <= statisticsB.LastPicked ? a : b;
        if (older.Statistics.LastPicked < staleBefore)
        {
            return older;
        }

        // An estimate only fades, so when neither unfaded one reaches the significant difference, or one has none, neither can
        // be clearly slower: no clock read, no decay to compute.
        var rawA = statisticsA.RawLatencyTicks;
        var rawB = statisticsB.RawLatencyTicks;
        if (rawA != 0 && rawB != 0 && (rawA >= SignificantLatencyDifference.Ticks || rawB >= SignificantLatencyDifference.Ticks))
        {
            var now = statisticsA.TimeProvider.GetTimestamp();
            var latencyA = statisticsA.GetLatencyEstimate(now);
            var latencyB = ReferenceEquals(statisticsA.TimeProvider, statisticsB.TimeProvider)
                ? statisticsB.GetLatencyEstimate(now)
                : statisticsB.GetLatencyEstimate();
            if (IsClearlySlower(latencyA, latencyB))
            {
                return b;
            }

            if (IsClearlySlower(latencyB, latencyA))
            {
                return a;
            }
        }

        return older;
    }
}
