using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>Turns API objects into the immutable model: Services into <see cref="KubernetesServiceInfo"/>, slices/Endpoints/Pods into endpoints.</summary>
internal static class KubernetesObjectConverter
{
    public static KubernetesServiceInfo ToServiceInfo(V1Service service)
    {
        var spec = service.Spec;
        var ports = ImmutableArray.CreateBuilder<ServicePortInfo>();
        foreach (var port in spec?.Ports ?? [])
        {
            ports.Add(new ServicePortInfo(port.Name ?? string.Empty, port.Port, port.TargetPort?.Value, port.Protocol ?? "TCP", port.AppProtocol, port.NodePort));
        }

        var ingress = ImmutableArray.CreateBuilder<string>();
        foreach (var entry in service.Status?.LoadBalancer?.Ingress ?? [])
        {
            var address = !string.IsNullOrEmpty(entry.Ip) ? entry.Ip : entry.Hostname;
            if (!string.IsNullOrEmpty(address))
            {
                ingress.Add(address);
            }
        }

        return new KubernetesServiceInfo(
            spec?.Type ?? "ClusterIP",
            spec?.ClusterIP,
            spec?.Selector is { Count: > 0 },
            spec?.ExternalName,
            ports.ToImmutable(),
            ingress.ToImmutable(),
            service.Metadata?.ResourceVersion);
    }

    /// <summary>Merges slices, de-duplicating by address: a pod can sit in two slices while the controller moves it.</summary>
    public static ImmutableArray<ServiceEndpoint> FromSlices(IEnumerable<V1EndpointSlice> slices)
    {
        var merged = new EndpointMerger();
        foreach (var slice in slices.OrderBy(s => s.Metadata?.Name, StringComparer.Ordinal))
        {
            var family = slice.AddressType switch
            {
                "IPv4" => AddressFamily.InterNetwork,
                "IPv6" => AddressFamily.InterNetworkV6,
                _ => AddressFamily.Unspecified,
            };
            var ports = ImmutableArray.CreateBuilder<EndpointPort>();
            foreach (var port in slice.Ports ?? [])
            {
                if (port.Port is { } number)
                {
                    ports.Add(new EndpointPort(port.Name ?? string.Empty, number, port.Protocol ?? "TCP", port.AppProtocol));
                }
            }

            var slicePorts = ports.ToImmutable();
            foreach (var endpoint in slice.Endpoints ?? [])
            {
                // The API defines absent conditions: ready → true, serving → like ready, terminating → false.
                var ready = endpoint.Conditions?.Ready ?? true;
                var serving = endpoint.Conditions?.Serving ?? ready;
                var terminating = endpoint.Conditions?.Terminating ?? false;
                var podName = string.Equals(endpoint.TargetRef?.Kind, "Pod", StringComparison.Ordinal) ? endpoint.TargetRef?.Name : null;
                var hints = endpoint.Hints?.ForZones is { Count: > 0 } zones
                    ? zones.Where(z => !string.IsNullOrEmpty(z.Name)).Select(z => z.Name).ToImmutableArray()
                    : [];
                foreach (var address in endpoint.Addresses ?? [])
                {
                    if (string.IsNullOrEmpty(address))
                    {
                        continue;
                    }

                    merged.Add(new ServiceEndpoint(address, family == AddressFamily.Unspecified ? FamilyOf(address) : family, slicePorts, ready, serving, terminating, endpoint.Zone, endpoint.NodeName, podName, endpoint.Hostname, hints));
                }
            }
        }

        return merged.ToImmutable();
    }

    public static ImmutableArray<ServiceEndpoint> FromEndpoints(IEnumerable<V1Endpoints> objects)
    {
        var merged = new EndpointMerger();
        foreach (var item in objects)
        {
            foreach (var subset in item.Subsets ?? [])
            {
                var ports = ImmutableArray.CreateBuilder<EndpointPort>();
                foreach (var port in subset.Ports ?? [])
                {
                    ports.Add(new EndpointPort(port.Name ?? string.Empty, port.Port, port.Protocol ?? "TCP", port.AppProtocol));
                }

                var subsetPorts = ports.ToImmutable();
                foreach (var address in subset.Addresses ?? [])
                {
                    merged.Add(FromEndpointAddress(address, subsetPorts, ready: true));
                }

                foreach (var address in subset.NotReadyAddresses ?? [])
                {
                    merged.Add(FromEndpointAddress(address, subsetPorts, ready: false));
                }
            }
        }

        return merged.ToImmutable();
    }

    public static ImmutableArray<ServiceEndpoint> FromPods(IEnumerable<V1Pod> pods)
    {
        var merged = new EndpointMerger();
        foreach (var pod in pods.OrderBy(p => p.Metadata?.Name, StringComparer.Ordinal))
        {
            // A pod being deleted must stop receiving new requests, whatever its readiness still says.
            if (pod.Metadata?.DeletionTimestamp is not null || pod.Status?.Phase is "Succeeded" or "Failed")
            {
                continue;
            }

            var ready = pod.Status?.Conditions?.Any(c => c.Type == "Ready" && string.Equals(c.Status, "True", StringComparison.OrdinalIgnoreCase)) ?? false;
            var ports = ImmutableArray.CreateBuilder<EndpointPort>();
            foreach (var container in pod.Spec?.Containers ?? [])
            {
                foreach (var port in container.Ports ?? [])
                {
                    ports.Add(new EndpointPort(port.Name ?? string.Empty, port.ContainerPort, port.Protocol ?? "TCP", null));
                }
            }

            var podPorts = ports.ToImmutable();
            var addresses = pod.Status?.PodIPs is { Count: > 0 } podIps
                ? podIps.Select(p => p.Ip).ToArray()
                : new[] { pod.Status?.PodIP };
            foreach (var address in addresses)
            {
                if (!string.IsNullOrEmpty(address))
                {
                    merged.Add(new ServiceEndpoint(address, FamilyOf(address), podPorts, ready, ready, false, null, pod.Spec?.NodeName, pod.Metadata?.Name, pod.Spec?.Hostname));
                }
            }
        }

        return merged.ToImmutable();
    }

    public static AddressFamily FamilyOf(string address)
        => IPAddress.TryParse(address, out var ip) ? ip.AddressFamily : AddressFamily.Unspecified;

    private static ServiceEndpoint FromEndpointAddress(V1EndpointAddress address, ImmutableArray<EndpointPort> ports, bool ready)
    {
        var podName = string.Equals(address.TargetRef?.Kind, "Pod", StringComparison.Ordinal) ? address.TargetRef?.Name : null;
        return new ServiceEndpoint(address.Ip, FamilyOf(address.Ip), ports, ready, ready, false, null, address.NodeName, podName, address.Hostname);
    }
}
