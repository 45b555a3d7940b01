using Microsoft.Extensions.Logging;

namespace Discovery.Http;

/// <summary>Source-generated log messages of Discovery.Http.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Ejected endpoint {Endpoint} (pod {Pod}) of Service {Namespace}/{Service} for {Duration} after {Outcome} (ejection {Level} in a row).")]
    public static partial void Ejected(ILogger logger, string endpoint, string? pod, string @namespace, string service, TimeSpan duration, AttemptOutcome outcome, int level);

    [LoggerMessage(2, LogLevel.Warning, "Not ejecting failing endpoint {Endpoint} of Service {Namespace}/{Service}: {Ejected} of {Total} endpoints are already ejected, the limit is {Limit}.")]
    public static partial void EjectionLimited(ILogger logger, string endpoint, string @namespace, string service, int ejected, int total, int limit);

    [LoggerMessage(3, LogLevel.Warning, "Every one of the {Count} endpoints of Service {Namespace}/{Service} is ejected; sending to all of them (panic mode).")]
    public static partial void Panic(ILogger logger, string @namespace, string service, int count);

    [LoggerMessage(4, LogLevel.Information, "Retrying {Method} request to Service {Namespace}/{Service} on another endpoint after {Outcome} on {Endpoint} (retry {Retry}).")]
    public static partial void Retrying(ILogger logger, HttpMethod method, string @namespace, string service, AttemptOutcome outcome, string endpoint, int retry);

    [LoggerMessage(5, LogLevel.Debug, "Host {Host} is not a Service this app can use ({Reason}); sending the request to DNS unchanged.")]
    public static partial void PassingThrough(ILogger logger, string host, string reason);

    [LoggerMessage(11, LogLevel.Information, "Host {Host} names namespace '{Namespace}', which is outside Discovery:AllowedNamespaces; it is sent to DNS as the absolute name '{Host}.' so that the cluster's DNS search list cannot resolve it to a Service there.")]
    public static partial void PassingThroughAsAbsoluteName(ILogger logger, string host, string @namespace);

    [LoggerMessage(6, LogLevel.Warning, "Could not install Service-name certificate validation on the primary handler of client '{Client}': {Reason}")]
    public static partial void CertificateValidationNotInstalled(ILogger logger, string client, string reason);

    [LoggerMessage(7, LogLevel.Information, "Endpoint {Endpoint} (pod {Pod}) of Service {Namespace}/{Service} is back in rotation after its ejection {Level} in a row ended.")]
    public static partial void Readmitted(ILogger logger, string endpoint, string? pod, string @namespace, string service, int level);

    [LoggerMessage(8, LogLevel.Debug, "Dropped the load-balancing state of Service {Namespace}/{Service} port '{Port}', unused for {IdleTimeout}.")]
    public static partial void BalancerEvicted(ILogger logger, string @namespace, string service, string port, TimeSpan idleTimeout);

    [LoggerMessage(9, LogLevel.Warning, "The idle sweep of hosts and balancers failed; it runs again later.")]
    public static partial void SweepFailed(ILogger logger, Exception exception);
}
