namespace Discovery.Http;

/// <summary>
/// Picks the endpoint a request goes to. Implementations are singletons shared by every Service and request: they must be
/// thread-safe, should not block or allocate, and keep any per-endpoint state on <see cref="DestinationState"/>.
/// </summary>
/// <remarks>
/// Register a custom policy as <c>services.AddSingleton&lt;ILoadBalancingPolicy, MyPolicy&gt;()</c> and select it by
/// <see cref="Name"/> in <see cref="DiscoveryHttpClientOptions.LoadBalancingPolicy"/>.
/// </remarks>
public interface ILoadBalancingPolicy
{
    /// <summary>The name options select the policy by.</summary>
    string Name { get; }

    /// <summary>Picks one of <paramref name="destinations"/>.</summary>
    /// <param name="context">The request and the Service it is for.</param>
    /// <param name="destinations">
    /// The candidates, never empty: healthy, in the preferred zone when zone-aware routing applies, and not yet tried by this request.
    /// </param>
    /// <returns>One of <paramref name="destinations"/>, or <see langword="null"/> to fail the request.</returns>
    DestinationState? PickDestination(in LoadBalancingContext context, IReadOnlyList<DestinationState> destinations);
}
