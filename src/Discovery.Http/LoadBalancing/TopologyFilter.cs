namespace Discovery.Http;

/// <summary>
/// Applies a Service's <c>internalTrafficPolicy</c>, its EndpointSlice topology hints and its <c>trafficDistribution</c> to the
/// endpoints of one port for the handler: the core's <see cref="KubeProxyTopology"/> decides what kube-proxy on this node would
/// do (the same rules the MESD, YARP and gRPC adapters apply); this adds what only a client-side balancer has.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>kube-proxy's choice narrows what is <em>preferred</em>, not what is reachable: the handler keeps every endpoint the traffic
/// policy allows, so that preferred endpoints that are all ejected by passive health give way to the rest (passive health has no
/// kube-proxy counterpart).</item>
/// <item>Without any Service preference, a zone configured for the client keeps its earlier meaning: endpoints in it are preferred
/// while they make up at least the configured share.</item>
/// </list>
/// </remarks>
internal static class TopologyFilter
{
    /// <param name="selection">The port selection (its targets are the snapshot's usable endpoints on the port).</param>
    /// <param name="nodeName">This application's node, if known.</param>
    /// <param name="zone">This application's zone for hints (configured for the client, else the node's), if known.</param>
    /// <param name="configuredZone">The zone configured for the client, which alone enables the endpoint-zone preference without a Service preference.</param>
    /// <param name="preferLocal">Whether any topology preference applies (<see cref="DiscoveryHttpClientOptions.PreferLocalZone"/>).</param>
    /// <param name="minLocalZoneShare">The least share of the configured-zone preference.</param>
    public static TopologyChoice Choose(PortSelection selection, string? nodeName, string? zone, string? configuredZone, bool preferLocal, double minLocalZoneShare)
    {
        var kubeProxy = KubeProxyTopology.Select(selection, nodeName, zone, preferLocal);
        var reachable = kubeProxy.Reachable.ToArray();
        switch (kubeProxy.Rule)
        {
            case TopologyRule.LocalNode:
                return new TopologyChoice(reachable, null, 0, TopologyMode.LocalNode, kubeProxy.Failure);
            case TopologyRule.None:
                return preferLocal && configuredZone is not null && AnyReady(reachable)
                    ? Prefer(reachable, TopologyMode.ConfiguredZone, minLocalZoneShare, e => string.Equals(e.Zone, configuredZone, StringComparison.Ordinal))
                    : new TopologyChoice(reachable, null, 0, TopologyMode.None, null);
            default:
                return new TopologyChoice(reachable, Mark(reachable, kubeProxy), 0, ModeOf(kubeProxy.Rule), null);
        }
    }

    private static TopologyMode ModeOf(TopologyRule rule) => rule switch
    {
        TopologyRule.NodeHints => TopologyMode.NodeHints,
        TopologyRule.ZoneHints => TopologyMode.ZoneHints,
        TopologyRule.SameNode => TopologyMode.SameNode,
        TopologyRule.SameZone => TopologyMode.SameZone,
        _ => TopologyMode.None,
    };

    /// <summary>Per entry of <paramref name="reachable"/>, whether kube-proxy's choice holds it; <see langword="null"/> when it holds all.</summary>
    private static bool[]? Mark(EndpointTarget[] reachable, TopologySelection kubeProxy)
    {
        var targets = kubeProxy.Targets;
        if (targets.Length == reachable.Length)
        {
            return null;
        }

        // The targets are a subsequence of the reachable endpoints, in their order.
        var preferred = new bool[reachable.Length];
        for (int i = 0, j = 0; i < reachable.Length && j < targets.Length; i++)
        {
            if (ReferenceEquals(reachable[i], targets[j]))
            {
                preferred[i] = true;
                j++;
            }
        }

        return preferred;
    }

    private static bool AnyReady(EndpointTarget[] reachable)
    {
        foreach (var target in reachable)
        {
            if (target.Endpoint.IsReady)
            {
                return true;
            }
        }

        return false;
    }

    private static TopologyChoice Prefer(EndpointTarget[] reachable, TopologyMode mode, double minShare, Func<ServiceEndpoint, bool> isPreferred)
    {
        var preferred = new bool[reachable.Length];
        var count = 0;
        for (var i = 0; i < reachable.Length; i++)
        {
            // Only ready endpoints are ever preferred, as with the Service's own preferences.
            preferred[i] = reachable[i].Endpoint.IsReady && isPreferred(reachable[i].Endpoint);
            count += preferred[i] ? 1 : 0;
        }

        // All preferred, or none: nothing to prefer.
        return count == 0 || count == reachable.Length
            ? new TopologyChoice(reachable, null, 0, mode, null)
            : new TopologyChoice(reachable, preferred, minShare, mode, null);
    }
}
