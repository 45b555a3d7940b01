namespace Discovery.Http;

/// <summary>Each endpoint in turn, with one rotation per Service port shared by every request to it.</summary>
public sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    /// <inheritdoc/>
    public string Name => LoadBalancingPolicyNames.RoundRobin;

    /// <inheritdoc/>
    public DestinationState? PickDestination(in LoadBalancingContext context, IReadOnlyList<DestinationState> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        var count = destinations.Count;
        if (count <= 1)
        {
            return count == 0 ? null : destinations[0];
        }

        return destinations[(int)(context.NextSequence() % count)];
    }
}
