using Microsoft.Extensions.Logging;

namespace Discovery.Yarp;

/// <summary>Source-generated log messages of Discovery.Yarp.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Destination '{DestinationId}' ({Address}): Service {Namespace}/{Service} expands to {Count} destinations from snapshot v{Version} (topology rule: {Rule}).")]
    public static partial void Expanded(ILogger logger, string destinationId, string address, string @namespace, string service, int count, long version, TopologyRule rule);

    [LoggerMessage(2, LogLevel.Warning, "Destination '{DestinationId}' ({Address}) has no destinations: {Reason} YARP answers its routes with 503 until that changes.")]
    public static partial void NoDestinations(ILogger logger, string destinationId, string address, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Destination '{DestinationId}' ({Address}): keeping the last known endpoints of Service {Namespace}/{Service} because the Kubernetes API could not be read; retrying in {RetryIn}.")]
    public static partial void KeepingLastKnown(ILogger logger, Exception exception, string destinationId, string address, string @namespace, string service, TimeSpan retryIn);

    [LoggerMessage(4, LogLevel.Debug, "Endpoint changes of {Services} Service(s) are passed to YARP as one configuration reload.")]
    public static partial void ReloadSignalled(ILogger logger, int services);

    [LoggerMessage(5, LogLevel.Debug, "Cluster '{ClusterId}': every destination is on a kubernetes.io/h2c port ({Services}); YARP sends HTTP/2 with prior knowledge to it.")]
    public static partial void ClusterUsesH2c(ILogger logger, string clusterId, string services);

    [LoggerMessage(6, LogLevel.Warning, "Cluster '{ClusterId}': {Services} publish appProtocol kubernetes.io/h2c (HTTP/2 without TLS), but {Reason} YARP's HTTP version is set per cluster, so requests to those pods follow the cluster's setting and an h2c-only server rejects them. Put the h2c Services in a cluster of their own, or set the cluster's HttpRequest Version \"2\" and VersionPolicy \"RequestVersionExact\".")]
    public static partial void H2cNotApplied(ILogger logger, string clusterId, string services, string reason);
}
