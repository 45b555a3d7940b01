using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>Rewrites pod endpoints to the address a client outside the pod network can reach (BRIEF §2.3 address modes).</summary>
internal static class AddressModeApplier
{
    /// <summary>The mode to apply for this Service: <see cref="AddressMode.Auto"/> resolved.</summary>
    public static AddressMode Resolve(AddressMode configured, bool isInCluster, KubernetesServiceInfo info)
    {
        if (configured != AddressMode.Auto)
        {
            return configured;
        }

        if (isInCluster)
        {
            return AddressMode.PodIP;
        }

        if (info.LoadBalancerIngress.Length > 0)
        {
            return AddressMode.LoadBalancer;
        }

        return info.Ports.Any(p => p.NodePort is not null) ? AddressMode.NodePort : AddressMode.PodIP;
    }

    /// <summary>Endpoints at the load balancer's ingress addresses, on the Service ports; usable while any pod endpoint is.</summary>
    public static ImmutableArray<ServiceEndpoint>? ToLoadBalancer(KubernetesServiceInfo info, ImmutableArray<ServiceEndpoint> pods)
    {
        if (info.LoadBalancerIngress.Length == 0)
        {
            return null;
        }

        var (ready, serving, terminating) = Summarize(pods);
        var ports = info.Ports.Select(p => new EndpointPort(p.Name, p.Port, p.Protocol, p.AppProtocol)).ToImmutableArray();
        var merged = new EndpointMerger();
        foreach (var address in info.LoadBalancerIngress)
        {
            merged.Add(new ServiceEndpoint(address, KubernetesObjectConverter.FamilyOf(address), ports, ready, serving, terminating));
        }

        return merged.ToImmutable();
    }

    /// <summary>
    /// One endpoint per node hosting a pod endpoint, on the Service's node ports. With <c>externalTrafficPolicy: Local</c> a node
    /// delivers only to its own pods (kube-proxy drops the rest), so its readiness is that of its best pod: only nodes hosting a
    /// ready endpoint are used (or, when none does, those hosting a serving-terminating one). With <c>Cluster</c> any node
    /// forwards to any pod, so every hosting node is as usable as the Service as a whole.
    /// </summary>
    public static ImmutableArray<ServiceEndpoint>? ToNodePorts(KubernetesServiceInfo info, ImmutableArray<ServiceEndpoint> pods, IReadOnlyDictionary<string, string> nodeAddresses)
    {
        var ports = info.Ports.Where(p => p.NodePort is not null)
            .Select(p => new EndpointPort(p.Name, p.NodePort!.Value, p.Protocol, p.AppProtocol))
            .ToImmutableArray();
        if (ports.Length == 0)
        {
            return null;
        }

        var merged = new EndpointMerger();
        var local = info.ExternalTrafficPolicy == TrafficPolicy.Local;
        var serviceWide = local ? default : Summarize(pods);
        foreach (var group in pods.Where(p => p.NodeName is not null).GroupBy(p => p.NodeName!, StringComparer.Ordinal))
        {
            if (!nodeAddresses.TryGetValue(group.Key, out var address))
            {
                continue;
            }

            var (ready, serving, terminating) = local ? Summarize([.. group]) : serviceWide;
            merged.Add(new ServiceEndpoint(address, KubernetesObjectConverter.FamilyOf(address), ports, ready, serving, terminating, group.First().Zone, group.Key));
        }

        return merged.ToImmutable();
    }

    private static (bool Ready, bool Serving, bool Terminating) Summarize(ImmutableArray<ServiceEndpoint> pods)
    {
        var ready = pods.Any(p => p.IsReady);
        var serving = ready || pods.Any(p => p.IsServing);
        var terminating = !ready && pods.Any(p => p.IsTerminating);
        return (ready, serving, terminating);
    }
}
