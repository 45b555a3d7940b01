using System.Collections.Immutable;

namespace Discovery;

/// <summary>
/// Chooses, among the endpoints of one Service port, those kube-proxy on this application's node would send to: the Service's
/// <c>internalTrafficPolicy</c>, its EndpointSlice topology hints and its <c>trafficDistribution</c> (pkg/proxy
/// <c>CategorizeEndpoints</c> and <c>topologyModeFromHints</c>). A pure function of the snapshot and this node, so that every
/// consumer (the HTTP handler, the MESD, YARP and gRPC adapters) applies the same rules.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>internalTrafficPolicy: Local</c>: only endpoints on this node: its ready ones, else its serving and terminating ones
/// (even while other nodes have ready ones, as kube-proxy does); no topology. None → <see cref="TopologySelection.Failure"/> is a
/// <see cref="NoReadyEndpointsException"/> naming the node; node unknown → a <see cref="NodeNameUnknownException"/>.</item>
/// <item>Otherwise, decided over the ready endpoints: when every one carries node hints and one is hinted for this node, those
/// hinted for it; else when every one carries zone hints and one is hinted for this zone, those; else all. The serving-terminating
/// fallback (no endpoint ready) ignores topology.</item>
/// <item>Where the view differs from kube-proxy's: with <c>trafficDistribution</c> set and no endpoint carrying hints (slices not
/// written by the EndpointSlice controller: mirrored, hand-made, or an emulator's), the hints are derived as the controller writes
/// them: each endpoint's own node (<c>PreferSameNode</c>), else its own zone when every ready endpoint has one.</item>
/// </list>
/// </remarks>
public static class KubeProxyTopology
{
    private const string PreferClose = "PreferClose";
    private const string PreferSameZone = "PreferSameZone";
    private const string PreferSameNode = "PreferSameNode";

    /// <summary>Chooses the endpoints of <paramref name="selection"/> that kube-proxy on node <paramref name="nodeName"/> would use.</summary>
    /// <param name="selection">The port selection (its targets are the snapshot's usable endpoints on the port).</param>
    /// <param name="nodeName">This application's node (<see cref="LocalNode.NodeName"/>), or <see langword="null"/> when unknown.</param>
    /// <param name="zone">This application's zone (<see cref="LocalNode.Zone"/>, or one configured for the caller), or <see langword="null"/>.</param>
    /// <param name="applyTopology">
    /// Whether hints and <c>trafficDistribution</c> may narrow the choice; <see langword="false"/> keeps only the traffic policy.
    /// </param>
    /// <returns>The choice; never <see langword="null"/>.</returns>
    public static TopologySelection Select(PortSelection selection, string? nodeName, string? zone, bool applyTopology = true)
    {
        ArgumentNullException.ThrowIfNull(selection);
        nodeName = string.IsNullOrEmpty(nodeName) ? null : nodeName;
        zone = string.IsNullOrEmpty(zone) ? null : zone;
        var info = selection.Snapshot.ServiceInfo;
        if (info is { InternalTrafficPolicy: TrafficPolicy.Local, IsExternalName: false })
        {
            return LocalOnly(selection, nodeName);
        }

        var reachable = selection.Targets;
        if (!applyTopology || reachable.IsEmpty)
        {
            return Unchanged(selection);
        }

        // Hints are decided over ready endpoints only, as kube-proxy does; the serving-terminating fallback ignores topology.
        var anyReady = false;
        bool allNodeHints = true, forNode = false, allZoneHints = true, forZone = false, anyHints = false;
        bool allHaveNode = true, onNode = false, allHaveZone = true, inZone = false;
        foreach (var target in reachable)
        {
            var endpoint = target.Endpoint;
            if (!endpoint.IsReady)
            {
                continue;
            }

            anyReady = true;
            anyHints |= !endpoint.NodeHints.IsEmpty || !endpoint.ZoneHints.IsEmpty;
            allNodeHints &= !endpoint.NodeHints.IsEmpty;
            forNode |= nodeName is not null && Contains(endpoint.NodeHints, nodeName);
            allZoneHints &= !endpoint.ZoneHints.IsEmpty;
            forZone |= zone is not null && Contains(endpoint.ZoneHints, zone);
            allHaveNode &= endpoint.NodeName is not null;
            onNode |= nodeName is not null && string.Equals(endpoint.NodeName, nodeName, StringComparison.Ordinal);
            allHaveZone &= endpoint.Zone is not null;
            inZone |= zone is not null && string.Equals(endpoint.Zone, zone, StringComparison.Ordinal);
        }

        if (!anyReady)
        {
            return Unchanged(selection);
        }

        if (allNodeHints && forNode)
        {
            return Prefer(selection, TopologyRule.NodeHints, e => Contains(e.NodeHints, nodeName!));
        }

        if (allZoneHints && forZone)
        {
            return Prefer(selection, TopologyRule.ZoneHints, e => Contains(e.ZoneHints, zone!));
        }

        var distribution = info?.TrafficDistribution;
        if (!anyHints && distribution is not null)
        {
            // What the EndpointSlice controller would have hinted: PreferSameNode → each endpoint's node (and zone);
            // PreferClose/PreferSameZone → each endpoint's zone, only when every endpoint has one.
            if (string.Equals(distribution, PreferSameNode, StringComparison.Ordinal) && allHaveNode && onNode)
            {
                return Prefer(selection, TopologyRule.SameNode, e => string.Equals(e.NodeName, nodeName, StringComparison.Ordinal));
            }

            if (distribution is PreferClose or PreferSameZone or PreferSameNode && allHaveZone && inZone)
            {
                return Prefer(selection, TopologyRule.SameZone, e => string.Equals(e.Zone, zone, StringComparison.Ordinal));
            }
        }

        return Unchanged(selection);
    }

    /// <summary>
    /// <see cref="Select"/> with <paramref name="localNode"/>'s node and zone, for consumers that hand endpoints out (the adapters).
    /// Waits for the zone lookup (<see cref="LocalNode.GetZoneAsync"/>, bounded by the API request timeout) only when a rule could
    /// use the zone: the Service sets <c>trafficDistribution</c> or an endpoint carries zone hints.
    /// </summary>
    /// <param name="selection">The port selection.</param>
    /// <param name="localNode">Where this application runs (<see cref="KubernetesServiceEndpointResolver.LocalNode"/>); <see langword="null"/> when unknown.</param>
    /// <param name="cancellationToken">Cancels the wait for the zone.</param>
    /// <returns>The choice; never <see langword="null"/>.</returns>
    public static async ValueTask<TopologySelection> SelectAsync(PortSelection selection, LocalNode? localNode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(selection);
        if (localNode is null)
        {
            return Select(selection, null, null);
        }

        var zone = NeedsZone(selection) ? await localNode.GetZoneAsync(cancellationToken).ConfigureAwait(false) : null;
        return Select(selection, localNode.NodeName, zone);
    }

    private static bool NeedsZone(PortSelection selection)
    {
        var info = selection.Snapshot.ServiceInfo;
        if (info is { InternalTrafficPolicy: TrafficPolicy.Local, IsExternalName: false })
        {
            return false;
        }

        if (info?.TrafficDistribution is not null)
        {
            return true;
        }

        foreach (var target in selection.Targets)
        {
            if (!target.Endpoint.ZoneHints.IsEmpty)
            {
                return true;
            }
        }

        return false;
    }

    private static TopologySelection Unchanged(PortSelection selection)
        => new(selection, selection.Targets, selection.Targets, TopologyRule.None, null);

    private static TopologySelection LocalOnly(PortSelection selection, string? nodeName)
    {
        var snapshot = selection.Snapshot;
        if (nodeName is null)
        {
            return new TopologySelection(selection, [], [], TopologyRule.LocalNode, new NodeNameUnknownException(snapshot.Service));
        }

        var local = ImmutableArray.CreateBuilder<EndpointTarget>();
        foreach (var target in selection.Targets)
        {
            if (string.Equals(target.Endpoint.NodeName, nodeName, StringComparison.Ordinal))
            {
                local.Add(target);
            }
        }

        if (local.Count == 0 && !snapshot.UsesTerminatingFallback && !snapshot.IncludesNotReady)
        {
            // kube-proxy falls back to this node's serving-terminating endpoints even while other nodes have ready ones.
            foreach (var endpoint in snapshot.Endpoints)
            {
                if (endpoint.IsServing && endpoint.IsTerminating && string.Equals(endpoint.NodeName, nodeName, StringComparison.Ordinal) && PortOf(endpoint, selection) is { } port)
                {
                    local.Add(new EndpointTarget(endpoint, port));
                }
            }
        }

        if (local.Count == 0)
        {
            var portName = selection.PortName.Length == 0 ? null : selection.PortName;
            return new TopologySelection(selection, [], [], TopologyRule.LocalNode, new NoReadyEndpointsException(snapshot.Service, nodeName, selection.Targets.Length, portName));
        }

        var reachable = local.ToImmutable();
        return new TopologySelection(selection, reachable, reachable, TopologyRule.LocalNode, null);
    }

    private static int? PortOf(ServiceEndpoint endpoint, PortSelection selection)
    {
        if (endpoint.TryGetPort(selection.PortName, out var port))
        {
            return port.Port;
        }

        return endpoint.Ports.Length == 1 ? endpoint.Ports[0].Port : null;
    }

    private static TopologySelection Prefer(PortSelection selection, TopologyRule rule, Func<ServiceEndpoint, bool> isPreferred)
    {
        // Only ready endpoints are ever preferred: the hints were decided over them. At least one is, by the rule's condition;
        // were none, nothing would be preferred rather than nothing reachable.
        var reachable = selection.Targets;
        var preferred = ImmutableArray.CreateBuilder<EndpointTarget>(reachable.Length);
        foreach (var target in reachable)
        {
            if (target.Endpoint.IsReady && isPreferred(target.Endpoint))
            {
                preferred.Add(target);
            }
        }

        return new TopologySelection(selection, reachable, preferred.Count == 0 || preferred.Count == reachable.Length ? reachable : preferred.ToImmutable(), rule, null);
    }

    private static bool Contains(ImmutableArray<string> values, string value)
    {
        foreach (var candidate in values)
        {
            if (string.Equals(candidate, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
