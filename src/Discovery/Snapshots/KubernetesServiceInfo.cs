using System.Collections.Immutable;

namespace Discovery;

/// <summary>The parts of a Service object that discovery needs.</summary>
/// <param name="Type">The Service type: <c>ClusterIP</c>, <c>NodePort</c>, <c>LoadBalancer</c> or <c>ExternalName</c>.</param>
/// <param name="ClusterIP">The cluster IP; <c>None</c> for a headless Service; <see langword="null"/> for ExternalName.</param>
/// <param name="HasSelector">Whether the Service selects pods; selectorless Services use hand-made Endpoints.</param>
/// <param name="ExternalName">The external DNS name of an ExternalName Service.</param>
/// <param name="Ports">The Service ports.</param>
/// <param name="LoadBalancerIngress">Load balancer ingress addresses (IP or hostname), for LoadBalancer Services.</param>
/// <param name="ResourceVersion">The Service object's resourceVersion.</param>
public sealed record KubernetesServiceInfo(
    string Type,
    string? ClusterIP,
    bool HasSelector,
    string? ExternalName,
    ImmutableArray<ServicePortInfo> Ports,
    ImmutableArray<string> LoadBalancerIngress,
    string? ResourceVersion)
{
    /// <summary>Whether the Service is headless (<c>clusterIP: None</c>).</summary>
    public bool IsHeadless => string.Equals(ClusterIP, "None", StringComparison.Ordinal);

    /// <summary>Whether the Service is an ExternalName Service.</summary>
    public bool IsExternalName => string.Equals(Type, "ExternalName", StringComparison.Ordinal);

    /// <summary>
    /// <c>spec.internalTrafficPolicy</c>: with <see cref="TrafficPolicy.Local"/>, requests go only to endpoints on the caller's own
    /// node. Default <see cref="TrafficPolicy.Cluster"/>.
    /// </summary>
    public TrafficPolicy InternalTrafficPolicy { get; init; }

    /// <summary>
    /// <c>spec.externalTrafficPolicy</c>: with <see cref="TrafficPolicy.Local"/>, the NodePort and LoadBalancer address modes use
    /// only nodes that host a ready endpoint. Default <see cref="TrafficPolicy.Cluster"/>.
    /// </summary>
    public TrafficPolicy ExternalTrafficPolicy { get; init; }

    /// <summary>
    /// <c>spec.trafficDistribution</c> as written (<c>PreferClose</c>, and later values such as <c>PreferSameZone</c> or
    /// <c>PreferSameNode</c>), or <see langword="null"/> when unset.
    /// </summary>
    public string? TrafficDistribution { get; init; }

    /// <summary>
    /// How long requests stick to one endpoint after the last one, when <c>spec.sessionAffinity</c> is <c>ClientIP</c>
    /// (<c>sessionAffinityConfig.clientIP.timeoutSeconds</c>, default 10,800 s); <see langword="null"/> without session affinity.
    /// </summary>
    public TimeSpan? SessionAffinityTimeout { get; init; }
}
