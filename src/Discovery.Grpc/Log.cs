using Microsoft.Extensions.Logging;

namespace Discovery.Grpc;

/// <summary>The log messages of the gRPC resolver, source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "gRPC channel {Address}: {Count} addresses of Service {Namespace}/{Service} (snapshot v{Version})")]
    public static partial void Published(ILogger logger, string address, int count, string @namespace, string service, long version);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "gRPC channel {Address} cannot resolve: {Reason}")]
    public static partial void Failed(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "gRPC channel {Address} rejected a resolver result")]
    public static partial void ListenerFailed(ILogger logger, Exception exception, string address);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "gRPC channel {Address}: Service {Namespace}/{Service} has internalTrafficPolicy: Local (kube-proxy sends its callers only to endpoints on their own node), which the kubernetes: resolver does not apply: the channel balances over all {Count} usable endpoints, on every node. Call node-local Services through AddKubernetesDiscovery()'s HttpClient handler (http://_grpc.<service>), which applies the policy.")]
    public static partial void LocalTrafficPolicyNotApplied(ILogger logger, string address, string @namespace, string service, int count);
}
