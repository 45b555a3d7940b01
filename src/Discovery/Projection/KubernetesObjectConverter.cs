using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>Turns API objects into the immutable model: Services into <see cref="KubernetesServiceInfo"/>, slices/Endpoints/Pods into endpoints.</summary>
internal static class KubernetesObjectConverter
{
    /// <summary>The API's default for <c>sessionAffinityConfig.clientIP.timeoutSeconds</c>: three hours.</summary>
    public const int DefaultSessionAffinitySeconds = 10_800;

    /// <summary>The largest <c>timeoutSeconds</c> the API accepts: one day.</summary>
    public const int MaxSessionAffinitySeconds = 86_400;

    public static KubernetesServiceInfo ToServiceInfo(V1Service service, RejectionLog? log = null)
    {
        var projection = ProjectService(service);
        log?.Report(projection.Issues);
        return projection.Info;
    }

    /// <summary>
    /// Projects a Service onto what discovery reads of it. Ports outside 1-65535, ingress entries that are neither IP
    /// literals nor DNS names and an external name that is neither are left out and recorded in the issues.
    /// </summary>
    public static ServiceProjection ProjectService(V1Service service, StringPool? pool = null)
    {
        var tally = default(SkipTally);
        var spec = service.Spec;
        var ports = ImmutableArray.CreateBuilder<ServicePortInfo>(spec?.Ports?.Count ?? 0);
        foreach (var port in spec?.Ports ?? [])
        {
            if (!IsValidPort(port.Port))
            {
                tally.Add($"port {port.Port} is outside 1-65535");
                continue;
            }

            ports.Add(new ServicePortInfo(Pooled(pool, port.Name) ?? string.Empty, port.Port, Pooled(pool, port.TargetPort?.Value), Pooled(pool, port.Protocol) ?? "TCP", Pooled(pool, port.AppProtocol), port.NodePort));
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

        var info = new KubernetesServiceInfo(
            Pooled(pool, spec?.Type) ?? "ClusterIP",
            Pooled(pool, spec?.ClusterIP),
            spec?.Selector is { Count: > 0 },
            externalName,
            ports.Count == ports.Capacity ? ports.MoveToImmutable() : ports.ToImmutable(),
            ingress.Count == 0 ? [] : ingress.ToImmutable(),
            service.Metadata?.ResourceVersion)
        {
            // As kube-proxy reads them: "Local" is local, anything else (unset, "Cluster", a value from a newer API) is cluster-wide.
            InternalTrafficPolicy = IsLocal(spec?.InternalTrafficPolicy),
            ExternalTrafficPolicy = IsLocal(spec?.ExternalTrafficPolicy),
            TrafficDistribution = string.IsNullOrEmpty(spec?.TrafficDistribution) ? null : Pooled(pool, spec.TrafficDistribution),
            SessionAffinityTimeout = SessionAffinityTimeout(spec, ref tally),
        };
        return new ServiceProjection(info, Issues("Service", service.Metadata, null, false, tally));
    }

    /// <summary>
    /// Merges slices, de-duplicating by address: a pod can sit in two slices while the controller moves it. Addresses that
    /// are not IP literals of the slice's address type and ports outside 1-65535 are skipped (and logged once per slice
    /// version); the rest of the slice is used.
    /// </summary>
    public static ImmutableArray<ServiceEndpoint> FromSlices(IEnumerable<V1EndpointSlice> slices, RejectionLog? log = null)
        => Merge(slices.Select(s => ProjectSlice(s)).OrderBy(s => s.Name, StringComparer.Ordinal), log);

    /// <summary>
    /// Merges projected slices in the order given (callers pass them ordered by name), de-duplicating by address and
    /// logging what each left out. A single slice's endpoints are returned as they are (no copy).
    /// </summary>
    public static ImmutableArray<ServiceEndpoint> Merge(IEnumerable<EndpointSliceProjection> slices, RejectionLog? log = null)
    {
        ImmutableArray<ServiceEndpoint> first = [];
        EndpointMerger? merged = null;
        foreach (var slice in slices)
        {
            log?.Report(slice.Issues);
            if (slice.Endpoints.IsEmpty)
            {
                continue;
            }

            if (first.IsEmpty)
            {
                first = slice.Endpoints;
                continue;
            }

            if (merged is null)
            {
                merged = new EndpointMerger();
                foreach (var endpoint in first)
                {
                    merged.Add(endpoint);
                }
            }

            foreach (var endpoint in slice.Endpoints)
            {
                merged.Add(endpoint);
            }
        }

        return merged?.ToImmutable() ?? first;
    }

    /// <summary>
    /// Projects an EndpointSlice onto its usable endpoints (see <see cref="FromSlices"/> for what is left out). Endpoints equal
    /// to ones of <paramref name="previous"/> (the earlier version of the same slice) keep those instances.
    /// </summary>
    public static EndpointSliceProjection ProjectSlice(V1EndpointSlice slice, EndpointSliceProjection? previous = null, StringPool? pool = null)
    {
        var name = slice.Metadata?.Name ?? string.Empty;
        var serviceName = slice.Metadata?.Labels is { } labels && labels.TryGetValue(NamespaceWatch.ServiceNameLabel, out var service) && !string.IsNullOrEmpty(service) ? service : null;
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
            var reason = fqdn ? "addressType FQDN is deprecated and not supported" : $"addressType '{Shorten(slice.AddressType)}' is not IPv4 or IPv6";
            return new EndpointSliceProjection(name, serviceName, [], Issues("EndpointSlice", slice.Metadata, reason, !fqdn, default));
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

            ports.Add(new EndpointPort(Pooled(pool, port.Name) ?? string.Empty, number, Pooled(pool, port.Protocol) ?? "TCP", Pooled(pool, port.AppProtocol)));
        }

        // An unchanged port list keeps the earlier version's array (every endpoint of the slice refers to it).
        var slicePorts = previous is { Endpoints: [var earlier, ..] } && Enumerable.SequenceEqual(earlier.Ports, ports) ? earlier.Ports : ports.ToImmutable();
        var merged = new EndpointMerger();
        ImmutableArray<string> lastHints = [];
        Dictionary<string, ImmutableArray<string>>? nodeHintArrays = null;
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            // The API defines absent conditions: ready → true, serving → like ready, terminating → false.
            var ready = endpoint.Conditions?.Ready ?? true;
            var serving = endpoint.Conditions?.Serving ?? ready;
            var terminating = endpoint.Conditions?.Terminating ?? false;
            var podName = string.Equals(endpoint.TargetRef?.Kind, "Pod", StringComparison.Ordinal) ? endpoint.TargetRef?.Name : null;
            ImmutableArray<string> hints = [];
            var nodeHints = endpoint.Hints?.ForNodes is { Count: > 0 } forNodes
                ? Hints(forNodes, static n => n.Name, pool, nodeHintArrays ??= new Dictionary<string, ImmutableArray<string>>(StringComparer.Ordinal))
                : [];
            foreach (var address in endpoint.Addresses ?? [])
            {
                if (!IpLiteral.TryNormalize(address, family, out var normalized, out _))
                {
                    tally.Add($"address '{Shorten(address)}' is not an {slice.AddressType} address");
                    continue;
                }

                if (hints.IsEmpty && endpoint.Hints?.ForZones is { Count: > 0 } zones)
                {
                    hints = [.. zones.Where(z => !string.IsNullOrEmpty(z.Name)).Select(z => Pooled(pool, z.Name)!)];
                    if (hints.SequenceEqual(lastHints, StringComparer.Ordinal))
                    {
                        // Endpoints of one zone share one hint list.
                        hints = lastHints;
                    }

                    lastHints = hints;
                }

                merged.Add(new ServiceEndpoint(normalized, family, slicePorts, ready, serving, terminating, Pooled(pool, endpoint.Zone), Pooled(pool, endpoint.NodeName), podName, endpoint.Hostname, hints, nodeHints));
            }
        }

        var endpoints = EndpointInterner.Reuse(previous?.Endpoints ?? [], merged.ToImmutable());
        return new EndpointSliceProjection(name, serviceName, endpoints, Issues("EndpointSlice", slice.Metadata, null, false, tally));
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

    private static TrafficPolicy IsLocal(string? policy)
        => string.Equals(policy, "Local", StringComparison.Ordinal) ? TrafficPolicy.Local : TrafficPolicy.Cluster;

    /// <summary>The stickiness of <c>sessionAffinity: ClientIP</c>; a timeout the API server would have refused falls back to the default.</summary>
    private static TimeSpan? SessionAffinityTimeout(V1ServiceSpec? spec, ref SkipTally tally)
    {
        if (spec?.SessionAffinity is not "ClientIP")
        {
            return null;
        }

        var seconds = spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? DefaultSessionAffinitySeconds;
        if (seconds is < 1 or > MaxSessionAffinitySeconds)
        {
            tally.Add($"sessionAffinityConfig.clientIP.timeoutSeconds {seconds} is outside 1-{MaxSessionAffinitySeconds}; {DefaultSessionAffinitySeconds} is used");
            seconds = DefaultSessionAffinitySeconds;
        }

        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Shares one array among endpoints hinted for the same single zone or node (the common shape: each endpoint's own).</summary>
    private static ImmutableArray<string> Hints<T>(IList<T>? entries, Func<T, string?> name, StringPool? pool, Dictionary<string, ImmutableArray<string>> shared)
    {
        if (entries is not { Count: > 0 })
        {
            return [];
        }

        if (entries.Count == 1)
        {
            var only = name(entries[0]);
            if (string.IsNullOrEmpty(only))
            {
                return [];
            }

            if (!shared.TryGetValue(only, out var array))
            {
                array = [Pooled(pool, only)!];
                shared[only] = array;
            }

            return array;
        }

        return [.. entries.Select(name).Where(n => !string.IsNullOrEmpty(n)).Select(n => Pooled(pool, n)!)];
    }

    private static string? Pooled(StringPool? pool, string? value) => pool is null ? value : pool.Get(value);

    private static ObjectIssues? Issues(string kind, V1ObjectMeta? metadata, string? objectSkipped, bool unexpected, in SkipTally tally)
        => objectSkipped is null && tally.Count == 0
            ? null
            : new ObjectIssues(kind, metadata?.NamespaceProperty, metadata?.Name, metadata?.ResourceVersion, objectSkipped, unexpected, tally.Count, tally.First);

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
