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
}
