namespace Discovery.Http;

/// <summary>How a destination set's preferred endpoints were chosen.</summary>
internal enum TopologyMode
{
    /// <summary>No preference: every reachable endpoint alike.</summary>
    None,

    /// <summary><c>internalTrafficPolicy: Local</c>: only endpoints on this node are reachable.</summary>
    LocalNode,

    /// <summary>Endpoints hinted for this node (<c>hints.forNodes</c>), as kube-proxy's PreferSameNode.</summary>
    NodeHints,

    /// <summary>Endpoints hinted for this zone (<c>hints.forZones</c>), as kube-proxy's PreferSameZone.</summary>
    ZoneHints,

    /// <summary><c>trafficDistribution: PreferSameNode</c> without hints: endpoints on this node, as the hints would say.</summary>
    SameNode,

    /// <summary><c>trafficDistribution: PreferClose</c>/<c>PreferSameZone</c> without hints: endpoints in this zone, as the hints would say.</summary>
    SameZone,

    /// <summary>No Service preference; the zone configured for this client (<c>Discovery:Http:Zone</c>) with its least share.</summary>
    ConfiguredZone,
}
