using Microsoft.Extensions.Logging;

namespace Discovery.Grpc;

/// <summary>The log messages of the gRPC resolver, source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "gRPC channel {Address}: {Count} addresses of Service {Namespace}/{Service} (snapshot v{Version}, topology rule: {Rule})")]
    public static partial void Published(ILogger logger, string address, int count, string @namespace, string service, long version, TopologyRule rule);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "gRPC channel {Address} cannot resolve: {Reason}")]
    public static partial void Failed(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "gRPC channel {Address} rejected a resolver result")]
    public static partial void ListenerFailed(ILogger logger, Exception exception, string address);
}
