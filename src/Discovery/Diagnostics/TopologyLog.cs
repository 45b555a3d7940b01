using Microsoft.Extensions.Logging;

namespace Discovery.Internal;

/// <summary>Log messages about where the application runs (its node and zone), source-generated.</summary>
internal static partial class TopologyLog
{
    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "This application runs on node {Node} in zone {Zone} (label topology.kubernetes.io/zone); topology hints and trafficDistribution prefer that zone")]
    public static partial void ZoneFound(ILogger logger, string node, string zone);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning, Message = "Reading node {Node} was refused ({StatusCode}); zone preference stays off. Grant 'get' on 'nodes' (a ClusterRole, see docs/rbac.md) or set Discovery:Zone")]
    public static partial void NodeForbidden(ILogger logger, string node, int statusCode);

    [LoggerMessage(EventId = 142, Level = LogLevel.Warning, Message = "Node {Node} could not be read ({Reason}); zone preference stays off until it can. Set Discovery:Zone to skip the lookup")]
    public static partial void NodeUnavailable(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 143, Level = LogLevel.Information, Message = "Node {Node} has no topology.kubernetes.io/zone label; zone preference stays off")]
    public static partial void NodeHasNoZone(ILogger logger, string node);
}
