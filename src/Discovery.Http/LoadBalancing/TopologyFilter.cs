namespace Discovery.Http;

/// <summary>
/// Applies a Service's <c>internalTrafficPolicy</c>, its EndpointSlice topology hints and its <c>trafficDistribution</c> to the
/// endpoints of one port, the way kube-proxy on this application's node would (pkg/proxy CategorizeEndpoints).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>internalTrafficPolicy: Local</c>: only endpoints on this node (ready ones, else serving and terminating ones); no
/// topology. None → a <see cref="NoReadyEndpointsException"/> naming the node; node unknown → <see cref="NodeNameUnknownException"/>.</item>
/// <item>Otherwise, among ready endpoints: when every one carries node hints and one is hinted for this node, those hinted for it;
/// else when every one carries zone hints and one is hinted for this zone, those; else none preferred.</item>
/// <item>Client-side additions: with <c>trafficDistribution</c> set and no hints at all (slices not written by the EndpointSlice
/// controller), the hints are derived as the controller writes them (each endpoint's own node/zone). Without any Service
/// preference, a zone configured for the client keeps its earlier meaning (same zone while it holds the least share).
/// Preferred endpoints that are all ejected give way to the rest (passive health has no kube-proxy counterpart).</item>
/// </list>
/// </remarks>
internal static class TopologyFilter
{
    private const string PreferClose = "PreferClose";
    private const string PreferSameZone = "PreferSameZone";
    private const string PreferSameNode = "PreferSameNode";

    /// <param name="selection">The port selection (its targets are the snapshot's usable endpoints on the port).</param>
    /// <param name="nodeName">This application's node, if known.</param>
    /// <param name="zone">This application's zone for hints (configured for the client, else the node's), if known.</param>
    /// <param name="configuredZone">The zone configured for the client, which alone enables the endpoint-zone preference without a Service preference.</param>
    /// <param name="preferLocal">Whether any topology preference applies (<see cref="DiscoveryHttpClientOptions.PreferLocalZone"/>).</param>
    /// <param name="minLocalZoneShare">The least share of the configured-zone preference.</param>
    public static TopologyChoice Choose(PortSelection selection, string? nodeName, string? zone, string? configuredZone, bool preferLocal, double minLocalZoneShare)
    {
        var snapshot = selection.Snapshot;
        var info = snapshot.ServiceInfo;
        var targets = selection.Targets.AsSpan();
        if (info?.InternalTrafficPolicy == TrafficPolicy.Local && !info.IsExternalName)
        {
            return LocalOnly(selection, nodeName);
        }

        var reachable = targets.ToArray();
        if (!preferLocal || reachable.Length == 0)
        {
            return new TopologyChoice(reachable, null, 0, TopologyMode.None, null);
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
            return new TopologyChoice(reachable, null, 0, TopologyMode.None, null);
        }

        var distribution = info?.TrafficDistribution;
        if (allNodeHints && forNode)
        {
            return Prefer(reachable, TopologyMode.NodeHints, 0, e => Contains(e.NodeHints, nodeName!));
        }

        if (allZoneHints && forZone)
        {
            return Prefer(reachable, TopologyMode.ZoneHints, 0, e => Contains(e.ZoneHints, zone!));
        }

        if (!anyHints && distribution is not null)
        {
            // What the EndpointSlice controller would have hinted: PreferSameNode → each endpoint's node (and zone);
            // PreferClose/PreferSameZone → each endpoint's zone, only when every endpoint has one.
            if (string.Equals(distribution, PreferSameNode, StringComparison.Ordinal) && allHaveNode && onNode)
            {
                return Prefer(reachable, TopologyMode.SameNode, 0, e => string.Equals(e.NodeName, nodeName, StringComparison.Ordinal));
            }

            if (distribution is PreferClose or PreferSameZone or PreferSameNode && allHaveZone && inZone)
            {
                return Prefer(reachable, TopologyMode.SameZone, 0, e => string.Equals(e.Zone, zone, StringComparison.Ordinal));
            }
        }

        if (configuredZone is not null)
        {
            return Prefer(reachable, TopologyMode.ConfiguredZone, minLocalZoneShare, e => string.Equals(e.Zone, configuredZone, StringComparison.Ordinal));
        }

        return new TopologyChoice(reachable, null, 0, TopologyMode.None, null);
    }

    private static TopologyChoice LocalOnly(PortSelection selection, string? nodeName)
    {
        var snapshot = selection.Snapshot;
        var portName = selection.PortName.Length == 0 ? null : selection.PortName;
        if (nodeName is null)
        {
            return new TopologyChoice([], null, 0, TopologyMode.LocalNode, new NodeNameUnknownException(snapshot.Service));
        }

        var local = new List<EndpointTarget>();
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

        return local.Count == 0
            ? new TopologyChoice([], null, 0, TopologyMode.LocalNode, new NoReadyEndpointsException(snapshot.Service, nodeName, selection.Targets.Length, portName))
            : new TopologyChoice([.. local], null, 0, TopologyMode.LocalNode, null);
    }

    private static int? PortOf(ServiceEndpoint endpoint, PortSelection selection)
    {
        if (endpoint.TryGetPort(selection.PortName, out var port))
        {
            return port.Port;
        }

        return endpoint.Ports.Length == 1 ? endpoint.Ports[0].Port : null;
    }

    private static TopologyChoice Prefer(EndpointTarget[] reachable, TopologyMode mode, double minShare, Func<ServiceEndpoint, bool> isPreferred)
    {
        var preferred = new bool[reachable.Length];
        var count = 0;
        for (var i = 0; i < reachable.Length; i++)
        {
            // Only ready endpoints are ever preferred: the hints were decided over them.
            preferred[i] = reachable[i].Endpoint.IsReady && isPreferred(reachable[i].Endpoint);
            count += preferred[i] ? 1 : 0;
        }

        // All preferred, or none: nothing to prefer.
        return count == 0 || count == reachable.Length
            ? new TopologyChoice(reachable, null, 0, mode, null)
            : new TopologyChoice(reachable, preferred, minShare, mode, null);
    }

    private static bool Contains(System.Collections.Immutable.ImmutableArray<string> values, string value)
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
