using Microsoft.Extensions.Logging;

namespace Discovery.ServiceDiscovery;

/// <summary>Source-generated log messages of Discovery.ServiceDiscovery.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Service {Namespace}/{Service}: resolved {Count} endpoints on port '{Port}' for '{Query}' from snapshot v{Version} (topology rule: {Rule}).")]
    public static partial void Resolved(ILogger logger, string @namespace, string service, int count, string port, string? query, long version, TopologyRule rule);

    [LoggerMessage(2, LogLevel.Debug, "'{Query}' is not a Kubernetes Service this app can use ({Reason}); leaving it to the next service discovery provider.")]
    public static partial void PassingOn(ILogger logger, string? query, string reason);

    [LoggerMessage(3, LogLevel.Debug, "'{Query}': an earlier service discovery provider (configuration) already supplied endpoints; Kubernetes is not asked.")]
    public static partial void SkippedResolution(ILogger logger, string? query);

    [LoggerMessage(4, LogLevel.Information, "Service {Namespace}/{Service} port '{Port}' has appProtocol kubernetes.io/h2c (HTTP/2 without TLS). MESD's HttpClient handler sets only the address and Host of a request, not its HTTP version: clients that call this port must send HTTP/2 themselves (DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact; gRPC channels do), or call it through AddKubernetesDiscovery()'s handler, which does. Its endpoints carry IKubernetesAppProtocolFeature.")]
    public static partial void H2cPort(ILogger logger, string @namespace, string service, string port);
}
