namespace Discovery.Http;

/// <summary>Finds the policy options name, among the registered ones and the built-in ones.</summary>
internal static class LoadBalancingPolicyResolver
{
    public static ILoadBalancingPolicy Resolve(DiscoveryHttpClientOptions options, IEnumerable<ILoadBalancingPolicy> registered)
    {
        if (options.Policy is not null)
        {
            return options.Policy;
        }

        // The last registration of a name wins, so that an application can replace a built-in policy.
        ILoadBalancingPolicy? found = null;
        foreach (var policy in registered)
        {
            if (string.Equals(policy.Name, options.LoadBalancingPolicy, StringComparison.OrdinalIgnoreCase))
            {
                found = policy;
            }
        }

        return found ?? BuiltIn(options.LoadBalancingPolicy);
    }

    public static ILoadBalancingPolicy BuiltIn(string name) => TryBuiltIn(name)
        ?? throw new InvalidOperationException($"No load-balancing policy is named '{name}'. Use {LoadBalancingPolicyNames.PowerOfTwoChoices}, {LoadBalancingPolicyNames.RoundRobin} or {LoadBalancingPolicyNames.Random}, or register an ILoadBalancingPolicy with that name.");

    public static ILoadBalancingPolicy? TryBuiltIn(string? name) => name?.ToUpperInvariant() switch
    {
        "POWEROFTWOCHOICES" => new PowerOfTwoChoicesPolicy(),
        "ROUNDROBIN" => new RoundRobinPolicy(),
        "RANDOM" => new RandomPolicy(),
        _ => null,
    };
}
