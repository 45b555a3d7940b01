namespace Discovery.Internal;

/// <summary>
/// Decides whether a freshly built snapshot says anything the published one does not: a re-list, a resumed watch or a
/// Service edit that touches nothing discovery reads must not wake subscribers or bump the version.
/// </summary>
internal static class SnapshotContent
{
    /// <summary>Whether <paramref name="built"/> holds the same endpoints (readiness, ports, topology), Service info and source as <paramref name="published"/>.</summary>
    /// <remarks>Versions, resourceVersions and creation times are bookkeeping, not content, and are ignored.</remarks>
    public static bool IsSame(ServiceEndpointSnapshot published, ServiceEndpointSnapshot built)
        => published.Source == built.Source
            && published.ServiceExists == built.ServiceExists
            && published.IncludesNotReady == built.IncludesNotReady
            && SameServiceInfo(published.ServiceInfo, built.ServiceInfo)
            && SameEndpoints(published, built);

    private static bool SameServiceInfo(KubernetesServiceInfo? a, KubernetesServiceInfo? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        // Not the record's Equals: it compares the arrays by reference and includes the resourceVersion, which changes
        // with every edit of the Service (labels, annotations, status) whether or not discovery reads it.
        return string.Equals(a.Type, b.Type, StringComparison.Ordinal)
            && string.Equals(a.ClusterIP, b.ClusterIP, StringComparison.Ordinal)
            && a.HasSelector == b.HasSelector
            && string.Equals(a.ExternalName, b.ExternalName, StringComparison.Ordinal)
            && a.Ports.SequenceEqual(b.Ports)
            && a.LoadBalancerIngress.SequenceEqual(b.LoadBalancerIngress, StringComparer.Ordinal)
            && a.InternalTrafficPolicy == b.InternalTrafficPolicy
            && a.ExternalTrafficPolicy == b.ExternalTrafficPolicy
            && string.Equals(a.TrafficDistribution, b.TrafficDistribution, StringComparison.Ordinal)
            && a.SessionAffinityTimeout == b.SessionAffinityTimeout;
    }

    private static bool SameEndpoints(ServiceEndpointSnapshot published, ServiceEndpointSnapshot built)
    {
        var a = published.Endpoints;
        var b = built.Endpoints;
        if (a.Length != b.Length)
        {
            return false;
        }

        // The interner hands unchanged endpoints their earlier instances, so the common case is a reference walk.
        var inOrder = true;
        for (var i = 0; i < a.Length; i++)
        {
            if (!ReferenceEquals(a[i], b[i]) && !EndpointInterner.SameAs(a[i], b[i]))
            {
                inOrder = false;
                break;
            }
        }

        if (inOrder)
        {
            return true;
        }

        // The same set in another order (slices listed in a different order after a re-list) is no change either.
        var byAddress = new Dictionary<string, ServiceEndpoint>(a.Length, StringComparer.OrdinalIgnoreCase);
        foreach (var endpoint in a)
        {
            byAddress[endpoint.Address] = endpoint;
        }

        foreach (var endpoint in b)
        {
            if (!byAddress.Remove(endpoint.Address, out var earlier) || !(ReferenceEquals(earlier, endpoint) || EndpointInterner.SameAs(earlier, endpoint)))
            {
                return false;
            }
        }

        return byAddress.Count == 0;
    }
}
