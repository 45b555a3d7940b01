namespace Discovery.Http;

/// <summary>
/// Slow start (after Envoy's): a destination that became usable within the window keeps only a fraction of the picks the
/// policy gives it, growing linearly from <see cref="MinWeight"/> to 1 over the window; the other picks go to the policy's
/// choice among the warm candidates. Deterministic: each pick of a slow destination adds its weight to a credit, and the pick
/// is kept whenever a whole one has accrued, so the destination keeps exactly that fraction of its picks.
/// </summary>
internal static class SlowStart
{
    /// <summary>The weight at the start of the window (Envoy's default minimum weight is 10 %).</summary>
    public const double MinWeight = 0.1;

    private const int Whole = 1000;

    /// <summary>The weight of a destination in slow start since <paramref name="since"/>, at <paramref name="now"/>: 1 once the window is over.</summary>
    public static double Weight(long since, long now, long window)
    {
        if (since == 0 || window <= 0)
        {
            return 1;
        }

        var elapsed = now - since;
        return elapsed >= window ? 1 : Math.Max(MinWeight, (double)elapsed / window);
    }

    /// <summary>Keeps <paramref name="picked"/> or replaces it with the policy's pick among the warm candidates.</summary>
    public static DestinationState Apply(ILoadBalancingPolicy policy, in LoadBalancingContext context, DestinationState picked, DestinationState[] candidates, CandidateView? view, long window, long now)
    {
        var weight = Weight(picked.SlowStartSince, now, window);
        if (weight >= 1)
        {
            return picked;
        }

        var credit = Interlocked.Add(ref picked.SlowStartCredit, (int)(weight * Whole));
        if (credit >= Whole)
        {
            Interlocked.Add(ref picked.SlowStartCredit, -Whole);
            return picked;
        }

        var warm = view is not null && ReferenceEquals(candidates, view.Candidates) ? view.Warm : Warm(candidates, window, now);
        if (warm.Length == 0 || ReferenceEquals(warm, candidates))
        {
            return picked;
        }

        return policy.PickDestination(context, warm) ?? picked;
    }

    /// <summary>The destinations of <paramref name="candidates"/> not in slow start at <paramref name="now"/> (the same array when all are warm).</summary>
    public static DestinationState[] Warm(DestinationState[] candidates, long window, long now)
    {
        var cold = 0;
        foreach (var candidate in candidates)
        {
            cold += Weight(candidate.SlowStartSince, now, window) < 1 ? 1 : 0;
        }

        if (cold == 0)
        {
            return candidates;
        }

        var warm = new DestinationState[candidates.Length - cold];
        var i = 0;
        foreach (var candidate in candidates)
        {
            if (Weight(candidate.SlowStartSince, now, window) >= 1)
            {
                warm[i++] = candidate;
            }
        }

        return warm;
    }
}
