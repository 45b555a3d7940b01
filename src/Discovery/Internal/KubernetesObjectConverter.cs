using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>Turns API objects into the immutable model: Services into <see cref="KubernetesServiceInfo"/>, slices/Endpoints/Pods into endpoints.</summary>
internal static class KubernetesObjectConverter
{
    public static KubernetesServiceInfo ToServiceInfo(V1Service service, RejectionLog? log = null)
    {
        var tally = default(SkipTally);
        var spec = service.Spec;
        var ports = ImmutableArray.CreateBuilder<ServicePortInfo>();
        foreach (var port in spec?.Ports ?? [])
        {
            if (!IsValidPort(port.Port))
            {
                tally.Add($"port {port.Port} is outside 1-65535");
                continue;
            }

            ports.Add(new ServicePortInfo(port.Name ?? string.Empty, port.Port, port.TargetPort?.Value, port.Protocol ?? "TCP", port.AppProtocol, port.NodePort));
        }

        var ingress = ImmutableArray.CreateBuilder<string>();
        foreach (var entry in service.Status?.LoadBalancer?.Ingress ?? [])
        {
            if (!string.IsNullOrEmpty(entry.Ip))
            {
                if (IpLiteral.TryNormalize(entry.Ip, AddressFamily.Unspecified, out var ip, out _))
                {
                    ingress.Add(ip);
                }
                else
                {
                    tally.Add($"load balancer ingress IP '{Shorten(entry.Ip)}' is not an IP address");
                }
            }
            else if (!string.IsNullOrEmpty(entry.Hostname))
            {
                if (IpLiteral.IsDnsName(entry.Hostname))
                {
                    ingress.Add(entry.Hostname);
                }
                else
                {
                    tally.Add($"load balancer ingress hostname '{Shorten(entry.Hostname)}' is not a DNS name");
                }
            }
        }

        // The external name becomes the request's host: anything but a DNS name or an IP could point it elsewhere.
        var externalName = spec?.ExternalName;
        if (!string.IsNullOrEmpty(externalName) && !IpLiteral.IsDnsName(externalName.TrimEnd('.')) && !IpLiteral.TryNormalize(externalName, AddressFamily.Unspecified, out _, out _))
        {
            tally.Add($"externalName '{Shorten(externalName)}' is not a DNS name");
            externalName = null;
        }

        log?.EntriesSkipped("Service", service.Metadata, tally);

        return new KubernetesServiceInfo(
            spec?.Type ?? "ClusterIP",
            spec?.ClusterIP,
            spec?.Selector is { Count: > 0 },
            externalName,
            ports.ToImmutable(),
            ingress.ToImmutable(),
            service.Metadata?.ResourceVersion);
    }

    /// <summary>
    /// Merges slices, de-duplicating by address: a pod can sit in two slices while the controller moves it. Addresses that
    /// are not IP literals of the slice's address type and ports outside 1-65535 are skipped (and logged once per slice
    /// version); the rest of the slice is used.
    /// </summary>
    public static ImmutableArray<ServiceEndpoint> FromSlices(IEnumerable<V1EndpointSlice> slices, RejectionLog? log = null)
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
            if (family == AddressFamily.Unspecified)
            {
                // FQDN slices are deprecated and never written by the controllers; their names are not IP addresses to
                // send requests to. Any other type is not Kubernetes' at all.
                var fqdn = string.Equals(slice.AddressType, "FQDN", StringComparison.Ordinal);
                log?.ObjectSkipped("EndpointSlice", slice.Metadata, fqdn ? "addressType FQDN is deprecated and not supported" : $"addressType '{Shorten(slice.AddressType)}' is not IPv4 or IPv6", unexpected: !fqdn);
                continue;
            }

            var tally = default(SkipTally);
            var ports = ImmutableArray.CreateBuilder<EndpointPort>();
            foreach (var port in slice.Ports ?? [])
            {
                if (port.Port is not { } number)
                {
                    continue;
                }

                if (!IsValidPort(number))
                {
                    tally.Add($"port {number} is outside 1-65535");
                    continue;
                }

                ports.Add(new EndpointPort(port.Name ?? string.Empty, number, port.Protocol ?? "TCP", port.AppProtocol));
            }

            var slicePorts = ports.ToImmutable();
            foreach (var endpoint in slice.Endpoints ?? [])
            {
                // The API defines absent conditions: ready → true, serving → like ready, terminating → false.
                var ready = endpoint.Conditions?.Ready ?? true;
                var serving = endpoint.Conditions?.Serving ?? ready;
                var terminating = endpoint.Conditions?.Terminating ?? false;
                var podName = string.Equals(endpoint.TargetRef?.Kind, "Pod", StringComparison.Ordinal) ? endpoint.TargetRef?.Name : null;
                ImmutableArray<string> hints = [];
                foreach (var address in endpoint.Addresses ?? [])
                {
                    if (!IpLiteral.TryNormalize(address, family, out var normalized, out _))
                    {
                        tally.Add($"address '{Shorten(address)}' is not an {slice.AddressType} address");
                        continue;
                    }

                    if (hints.IsEmpty && endpoint.Hints?.ForZones is { Count: > 0 } zones)
                    {
                        hints = [.. zones.Where(z => !string.IsNullOrEmpty(z.Name)).Select(z => z.Name)];
                    }

                    merged.Add(new ServiceEndpoint(normalized, family, slicePorts, ready, serving, terminating, endpoint.Zone, endpoint.NodeName, podName, endpoint.Hostname, hints));
                }
            }

            log?.EntriesSkipped("EndpointSlice", slice.Metadata, tally);
        }

        return merged.ToImmutable();
    }

    /// <summary>Merges core/v1 Endpoints: <c>addresses</c> are ready, <c>notReadyAddresses</c> not. Entries that are not IP addresses are skipped.</summary>
    public static ImmutableArray<ServiceEndpoint> FromEndpoints(IEnumerable<V1Endpoints> objects, RejectionLog? log = null)
    {
        var merged = new EndpointMerger();
        foreach (var item in objects)
        {
            var tally = default(SkipTally);
            foreach (var subset in item.Subsets ?? [])
            {
                var ports = ImmutableArray.CreateBuilder<EndpointPort>();
                foreach (var port in subset.Ports ?? [])
                {
                    if (!IsValidPort(port.Port))
                    {
                        tally.Add($"port {port.Port} is outside 1-65535");
                        continue;
                    }

                    ports.Add(new EndpointPort(port.Name ?? string.Empty, port.Port, port.Protocol ?? "TCP", port.AppProtocol));
                }

                var subsetPorts = ports.ToImmutable();
                foreach (var address in subset.Addresses ?? [])
                {
                    AddEndpointAddress(merged, address, subsetPorts, ready: true, ref tally);
                }

                foreach (var address in subset.NotReadyAddresses ?? [])
                {
                    AddEndpointAddress(merged, address, subsetPorts, ready: false, ref tally);
                }
            }

            log?.EntriesSkipped("Endpoints", item.Metadata, tally);
        }

        return merged.ToImmutable();
    }

    public static ImmutableArray<ServiceEndpoint> FromPods(IEnumerable<V1Pod> pods, RejectionLog? log = null)
    {
        var merged = new EndpointMerger();
        foreach (var pod in pods.OrderBy(p => p.Metadata?.Name, StringComparer.Ordinal))
        {
            // A pod being deleted must stop receiving new requests, whatever its readiness still says.
            if (pod.Metadata?.DeletionTimestamp is not null || pod.Status?.Phase is "Succeeded" or "Failed")
            {
                continue;
            }

            var tally = default(SkipTally);
            var ready = pod.Status?.Conditions?.Any(c => c.Type == "Ready" && string.Equals(c.Status, "True", StringComparison.OrdinalIgnoreCase)) ?? false;
            var ports = ImmutableArray.CreateBuilder<EndpointPort>();
            foreach (var container in pod.Spec?.Containers ?? [])
            {
                foreach (var port in container.Ports ?? [])
                {
                    if (!IsValidPort(port.ContainerPort))
                    {
                        tally.Add($"container port {port.ContainerPort} is outside 1-65535");
                        continue;
                    }

                    ports.Add(new EndpointPort(port.Name ?? string.Empty, port.ContainerPort, port.Protocol ?? "TCP", null));
                }
            }

            var podPorts = ports.ToImmutable();
            var addresses = pod.Status?.PodIPs is { Count: > 0 } podIps
                ? podIps.Select(p => p.Ip).ToArray()
                : new[] { pod.Status?.PodIP };
            foreach (var address in addresses)
            {
                if (string.IsNullOrEmpty(address))
                {
                    continue;
                }

                if (!IpLiteral.TryNormalize(address, AddressFamily.Unspecified, out var normalized, out var family))
                {
                    tally.Add($"pod IP '{Shorten(address)}' is not an IP address");
                    continue;
                }

                merged.Add(new ServiceEndpoint(normalized, family, podPorts, ready, ready, false, null, pod.Spec?.NodeName, pod.Metadata?.Name, pod.Spec?.Hostname));
            }

            log?.EntriesSkipped("Pod", pod.Metadata, tally);
        }

        return merged.ToImmutable();
    }

    public static AddressFamily FamilyOf(string address)
        => IPAddress.TryParse(address, out var ip) ? ip.AddressFamily : AddressFamily.Unspecified;

    private static void AddEndpointAddress(EndpointMerger merged, V1EndpointAddress address, ImmutableArray<EndpointPort> ports, bool ready, ref SkipTally tally)
    {
        if (!IpLiteral.TryNormalize(address.Ip, AddressFamily.Unspecified, out var normalized, out var family))
        {
            tally.Add($"address '{Shorten(address.Ip)}' is not an IP address");
            return;
        }

        var podName = string.Equals(address.TargetRef?.Kind, "Pod", StringComparison.Ordinal) ? address.TargetRef?.Name : null;
        merged.Add(new ServiceEndpoint(normalized, family, ports, ready, ready, false, null, address.NodeName, podName, address.Hostname));
    }

    private static bool IsValidPort(int port) => port is >= 1 and <= 65535;

    // Bad values are quoted in log lines: a hostile one may be huge or carry line breaks that forge log lines.
    private static string Shorten(string? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        var shown = value.Length <= 64 ? value : string.Concat(value.AsSpan(0, 64), "…");
        return shown.Any(char.IsControl) ? string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c)) : shown;
    }
}
