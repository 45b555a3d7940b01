namespace Discovery.Http;

/// <summary>Names of the built-in load-balancing policies, for <see cref="DiscoveryHttpClientOptions.LoadBalancingPolicy"/>.</summary>
public static class LoadBalancingPolicyNames
{
    /// <summary>Of two endpoints picked at random, the one with fewer requests in flight (then the clearly lower recent latency, then the one picked less recently). The default.</summary>
    public const string PowerOfTwoChoices = "PowerOfTwoChoices";

    /// <summary>Each endpoint in turn.</summary>
    public const string RoundRobin = "RoundRobin";

    /// <summary>An endpoint picked uniformly at random.</summary>
    public const string Random = "Random";
}
