namespace Discovery;

/// <summary>Which of kube-proxy's rules decided a <see cref="TopologySelection"/> (see <see cref="KubeProxyTopology"/>).</summary>
public enum TopologyRule
{
    /// <summary>No rule applies: every usable endpoint of the port alike.</summary>
    None,

    /// <summary><c>internalTrafficPolicy: Local</c>: only endpoints on this node (ready ones, else serving and terminating ones).</summary>
    LocalNode,

    /// <summary>Every ready endpoint carries <c>hints.forNodes</c> and one names this node: those hinted for it (PreferSameNode).</summary>
    NodeHints,

    /// <summary>Every ready endpoint carries <c>hints.forZones</c> and one names this zone: those hinted for it (PreferSameZone).</summary>
    ZoneHints,

    /// <summary><c>trafficDistribution: PreferSameNode</c> and no endpoint has hints: the endpoints on this node, as the hints would say.</summary>
    SameNode,

    /// <summary><c>trafficDistribution: PreferClose</c> or <c>PreferSameZone</c> (or PreferSameNode with none on this node) and no endpoint has hints: the endpoints in this zone, as the hints would say.</summary>
    SameZone,
}
